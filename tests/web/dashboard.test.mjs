// End to end: the web dashboard served by a real vinculo-server, in Debian's headless Chromium
// driven by playwright-core. Data reaches the server the way it does in the field — `vinculo`
// devices that record cases offline and sync (server.js) — and a supervisor then uses the
// dashboard: signs in, reads the overview, opens a child's record, reinstates a lost value (and a
// device gets it at its next sync), downloads a CSV, switches language and signs out.
//
//   VINCULO_SERVER, VINCULO_CLI, VINCULO_MAKE_CERTS  the binaries (set by ctest)
//   CHROMIUM            the browser (default /usr/bin/chromium)
//   VINCULO_WEB_KEEP=1  keep the temporary directory (server log, screenshots) and print its path

import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {after, before, test as nodeTest} from 'node:test';

import {chromium} from 'playwright-core';

import {TestServer, seed} from './server.js';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const KEEP = process.env.VINCULO_WEB_KEEP === '1';

let server;
let data;
let context;
let page;
let shots;
let browserToday;         // YYYY-MM-DD on the browser's calendar (America/Lima)
let failed = false;       // keep the temporary directory (log, screenshots) after a failure
const external = [];      // requests that left the server: there must be none
const consoleErrors = [];

function daysBetween(from, to) {
  return Math.round((Date.parse(to + 'T00:00:00Z') - Date.parse(from + 'T00:00:00Z')) / 86_400_000);
}

async function screenshot(name, fullPage = true) {
  const path = join(shots, name);
  await page.screenshot({path, fullPage});
  console.log(`screenshot: ${path}`);
  return path;
}

async function heading() {
  return (await page.locator('h1').first().textContent()).trim();
}

async function waitForHeading(text) {
  await page.locator('h1', {hasText: text}).first().waitFor();
}

before(async () => {
  try {
    await setUp();
  } catch (error) {
    failed = true;
    throw error;
  }
});

async function setUp() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run deploy/install-build-deps.sh (it installs Debian's chromium)`);
  }
  server = new TestServer();
  shots = join(server.dir, 'screenshots');
  mkdirSync(shots, {recursive: true});
  await server.makeCerts();
  await server.addUser('ana', 'field_worker', 'Cusco');
  await server.addUser('luis', 'field_worker', 'Cusco');
  await server.addUser('marta', 'field_worker', 'Puno');
  await server.addUser('sofia', 'supervisor', 'Cusco');
  await server.addUser('admin', 'admin', '');
  await server.start();
  const now = new Date();
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  data = await seed(server, today);

  // A fresh profile each run; the throw-away test CA is not installed, its errors are ignored.
  context = await chromium.launchPersistentContext(join(server.dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
    locale: 'es-PE',
    timezoneId: 'America/Lima',
    viewport: {width: 1366, height: 768},
  });
  context.setDefaultTimeout(15_000);
  page = context.pages()[0] || await context.newPage();
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(server.url) && !url.startsWith('blob:') && !url.startsWith('data:')) external.push(url);
  });
  page.on('console', (message) => {
    // A refused sign-in or a 4xx answer is logged by Chromium as a failed resource: expected.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      consoleErrors.push(message.text());
    }
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  browserToday = await page.evaluate(() => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  });
}

after(async () => {
  if (context) await context.close();
  if (server) {
    await server.stop();
    if (KEEP || failed) console.log(`kept ${server.dir} (server.log, screenshots/)`);
    server.cleanUp(KEEP || failed);
  }
});

// node:test's test(), remembering a failure so that after() keeps the evidence.
function test(name, fn) {
  return nodeTest(name, async (t) => {
    try {
      await fn(t);
    } catch (error) {
      failed = true;
      if (page) await page.screenshot({path: join(shots, 'failure.png'), fullPage: true}).catch(() => {});
      throw error;
    }
  });
}

test('the server serves the dashboard from its binary, with its security headers', async () => {
  const index = await server.request('/');
  assert.equal(index.status, 200);
  assert.match(index.headers['content-type'], /^text\/html/);
  assert.equal(index.headers['content-security-policy'].split(';')[0], "default-src 'self'");
  assert.match(index.headers['content-security-policy'], /script-src 'self'/);
  assert.match(index.headers['content-security-policy'], /style-src 'self'/);
  assert.match(index.headers['content-security-policy'], /img-src 'self' data:/);
  assert.equal(index.headers['x-content-type-options'], 'nosniff');
  assert.equal(index.headers['x-frame-options'], 'DENY');
  assert.equal(index.headers['referrer-policy'], 'no-referrer');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.match(index.headers.etag, /^"[0-9a-f]+"$/);
  const script = await server.request('/js/app.js');
  assert.equal(script.status, 200);
  assert.match(script.headers['content-type'], /^text\/javascript/);
  assert.equal((await server.request('/no-such-file.js')).status, 404);
});

test('a supervisor signs in (Spanish, as the browser prefers) and sees the overview', async () => {
  await page.goto(server.url + '/');
  await waitForHeading('Iniciar sesión');
  assert.equal(await page.getAttribute('html', 'lang'), 'es');

  await page.getByLabel('Usuario').fill('sofia');
  await page.getByLabel('Contraseña').fill('not-her-password');
  await page.getByLabel('Contraseña').press('Enter');
  await page.getByText('Usuario o contraseña incorrectos.').waitFor();

  await page.getByLabel('Contraseña').fill('secreto-sofia-2026');
  await page.getByLabel('Contraseña').press('Enter');
  await waitForHeading('Resumen');
  await page.locator('#overdue-table').waitFor();
  const session = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vinculo.session')));
  assert.equal(session.username, 'sofia');
  assert.equal(session.role, 'supervisor');
  const device = await page.evaluate(() => localStorage.getItem('vinculo.deviceId'));
  assert.match(device, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

  // The figures of the cards.
  const monthStart = browserToday.slice(0, 8) + '01';
  const visitsThisMonth = data.visits.filter((v) => v.date >= monthStart && v.date <= browserToday).length;
  assert.equal(await page.locator('#card-visits .card-value').textContent(), String(visitsThisMonth));
  assert.equal(await page.locator('#card-open .card-value').textContent(), '8');  // not Diego (closed), not Puno
  assert.equal(await page.locator('#card-conflicts .card-value').textContent(), '2');
  assert.equal(await page.locator('#card-overdue .card-value').textContent(), '4');
  assert.equal((await page.locator('#conflict-badge').textContent()).trim(), '2');

  // The overdue list: never visited first, then the longest overdue; other regions and closed
  // cases are not there.
  const rows = page.locator('#overdue-table tbody tr');
  assert.equal(await rows.count(), 4);
  const cells = async (i) => (await rows.nth(i).locator('th, td').allTextContents()).map((s) => s.trim());
  const santiago = await cells(0);
  assert.equal(santiago[0], 'Santiago Mamani Túpac');
  assert.equal(santiago[1], 'luis');
  assert.equal(santiago[4], 'Nunca visitado');
  const valentina = await cells(1);
  assert.equal(valentina[0], 'Valentina Ccori Puma');
  assert.equal(valentina[4], `Sin visita hace ${daysBetween(visitOf(data.children.valentina), browserToday)} días`);
  const lucia = await cells(2);
  assert.equal(lucia[0], 'Lucía Quispe Mamani');
  assert.equal(lucia[4], `Visita vencida hace ${daysBetween(dueOfLucia(), browserToday)} días`);
  const joaquin = await cells(3);
  assert.equal(joaquin[0], 'Joaquín Apaza Layme');
  const table = await page.locator('#overdue-table').textContent();
  assert.doesNotMatch(table, /Rodrigo|Diego/);

  // The outcomes chart: twelve months, four children returned to family life.
  assert.equal(await page.locator('svg.chart rect.bar').count(), 12);
  assert.match(await page.locator('#chart-desc').textContent(), /: 4 en total/);
  await screenshot('overview-viewport.png', false);
  await screenshot('overview.png');
});

test('the overdue list downloads as CSV with every case, the server\'s pages joined', async () => {
  const csvLines = (bytes) => {
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'one byte order mark');
    return bytes.subarray(3).toString('utf8').trimEnd().split('\r\n');
  };
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#overdue').getByRole('button', {name: /Descargar CSV/}).click(),
  ]);
  assert.equal(download.suggestedFilename(), `vinculo-overdue-${browserToday}.csv`);
  const whole = readFileSync(await download.path());
  const lines = csvLines(whole);
  assert.equal(lines[0], 'child_id,given_name,family_name,region,assigned_worker,programme,' +
                         'last_visit_at,next_visit_due,days_overdue,reason');
  assert.equal(lines.length, 1 + 4);
  assert.match(lines[1], /^[^,]+,Santiago,.*,never_visited$/);
  // One case a page: the dashboard follows X-Next-Page and writes one header, the same file.
  const [paged] = await Promise.all([
    page.waitForEvent('download'),
    page.evaluate(async (asOf) => {
      const {downloadCsv} = await import('/js/api.js');
      await downloadCsv('/v1/overdue', {as_of: asOf, days: 30, limit: 1}, 'paged.csv', true);
    }, browserToday),
  ]);
  assert.deepEqual(csvLines(readFileSync(await paged.path())), lines);
});

// The date of a child's last visit in the seed.
function visitOf(childId) {
  return data.visits.filter((v) => v.child === childId).map((v) => v.date).sort().pop();
}

// Lucía's last visit agreed the next one ten days before the seed's "today".
function dueOfLucia() {
  const now = new Date();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - 10 * 86_400_000).toISOString().slice(0, 10);
}

test('a child\'s page shows the record and its history, and the read is audited', async () => {
  await page.getByRole('link', {name: 'Lucía Quispe Mamani'}).click();
  await waitForHeading('Lucía Quispe Mamani');
  assert.equal(new URL(page.url()).hash, '#/children/' + data.children.lucia);
  const contacts = await page.locator('#contacts-table').textContent();
  assert.match(contacts, /Carmen Mamani/);
  assert.match(contacts, /Madre/);
  assert.match(contacts, /Rosa Quispe/);
  assert.match(contacts, /Abuela\/o/);
  const placements = await page.locator('#placements-table tbody tr').first().locator('td').allTextContents();
  assert.deepEqual(placements.slice(0, 2), ['Institución residencial', 'Familia extensa']);
  assert.equal(await page.locator('#child-visits-table tbody tr').count(), 3);
  // Latest first, with the attendees' names.
  const latest = await page.locator('#child-visits-table tbody tr').first().textContent();
  assert.match(latest, /Seguimiento posreintegración/);
  assert.match(latest, /Rosa Quispe, Carmen Mamani/);
  assert.match(await page.locator('.page-child').textContent(), /Jr\. Ayacucho 312, San Jerónimo/);
  await screenshot('child.png');

  // A table the server has no CSV of is written by the page, in the same form.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#contacts').getByRole('button', {name: /Descargar CSV/}).click(),
  ]);
  assert.equal(download.suggestedFilename(), `vinculo-child-${data.children.lucia.slice(-8)}-contacts.csv`);
  const csv = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '').trimEnd().split('\r\n');
  assert.equal(csv[0], 'id,given_name,family_name,relationship,phone,address,consent_to_contact,notes');
  assert.ok(csv.includes(`${data.contacts.carmen},Carmen,Mamani,mother,+51 984 100 200,,yes,`), csv.join('\n'));

  const admin = await server.token('admin', crypto.randomUUID());
  const audit = JSON.parse((await server.request('/v1/audit', {headers: {Authorization: 'Bearer ' + admin}})).body);
  assert.ok(audit.entries.some((e) => e.username === 'sofia' && e.action === 'read' && e.childId === data.children.lucia),
            JSON.stringify(audit.entries));
});

test('the supervisor reinstates a lost value; it leaves the list and reaches the devices', async () => {
  await page.getByRole('link', {name: /Conflictos/}).click();
  await waitForHeading('Conflictos por revisar');
  const rows = page.locator('#conflicts-table tbody tr');
  assert.equal(await rows.count(), 2);
  const phoneRow = rows.filter({hasText: 'Teléfono'});
  assert.equal(await phoneRow.count(), 1);
  assert.equal((await phoneRow.locator('.value-kept').textContent()).trim(), '+51 984 555 666');
  assert.equal((await phoneRow.locator('.value-lost').textContent()).trim(), '+51 984 333 444');
  const riskRow = rows.filter({hasText: 'Nivel de riesgo'});
  assert.equal((await riskRow.locator('.value-kept').textContent()).trim(), 'Bajo');
  assert.equal((await riskRow.locator('.value-lost').textContent()).trim(), 'Alto');
  await screenshot('conflicts.png');

  const conflictId = await phoneRow.getAttribute('data-conflict');
  await phoneRow.getByRole('button', {name: /Restablecer «\+51 984 333 444»/}).click();
  await page.locator(`#conflict-${conflictId}`).waitFor({state: 'detached'});
  assert.equal(await rows.count(), 1);
  await page.locator('#status', {hasText: 'se restableció «+51 984 333 444»'}).waitFor();
  assert.equal((await page.locator('#conflict-badge').textContent()).trim(), '1');
  await screenshot('conflicts-after.png');

  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vinculo.session')).token);
  const resolved = JSON.parse((await server.request('/v1/conflicts?status=resolved',
                                                    {headers: {Authorization: 'Bearer ' + token}})).body);
  assert.equal(resolved.conflicts.length, 1);
  assert.equal(resolved.conflicts[0].resolution, 'reinstate_loser');
  assert.equal(resolved.conflicts[0].resolvedBy, 'sofia');

  // Both of Ana's devices get the reinstated number at their next sync.
  for (const device of [data.devices.anaLaptop, data.devices.anaPhone]) {
    await device.sync();
    assert.equal((await device.show('contact', data.contacts.rosa)).phone, '+51 984 333 444', device.name);
  }
});

test('the caseload table downloads as CSV with the same figures', async () => {
  await page.getByRole('link', {name: 'Carga de casos'}).click();
  await waitForHeading('Carga de casos por trabajador');
  const from = browserToday.slice(0, 8) + '01';
  const visitsOf = (worker) => data.visits.filter((v) => v.worker === worker && v.date >= from && v.date <= browserToday).length;
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', {name: /Descargar CSV/}).click(),
  ]);
  assert.equal(download.suggestedFilename(), `vinculo-caseload-${from}-to-${browserToday}.csv`);
  const bytes = readFileSync(await download.path());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 byte order mark for spreadsheets');
  const lines = bytes.subarray(3).toString('utf8').trimEnd().split('\r\n');
  assert.deepEqual(lines, [
    'region,worker,open_cases,visits,overdue,from,to',
    `Cusco,ana,5,${visitsOf('ana')},2,${from},${browserToday}`,
    `Cusco,luis,3,${visitsOf('luis')},2,${from},${browserToday}`,
  ]);
  const total = await page.locator('#caseload-table tfoot tr').locator('th, td').allTextContents();
  // The same overdue rule as the overview's list: 4 in all.
  assert.deepEqual(total, ['Total', '8', String(visitsOf('ana') + visitsOf('luis')), '4']);
  await screenshot('caseload.png');

  // A worker's name leads to their visits of the period.
  await page.locator('#caseload-table').getByRole('link', {name: 'ana', exact: true}).click();
  await waitForHeading('Visitas');
  assert.equal(await page.locator('#visits-table tbody tr').count(), visitsOf('ana'));
  assert.equal(await page.getByLabel('Trabajador/a').inputValue(), 'ana');
  await screenshot('visits.png');
});

test('the language switch translates the page and is remembered', async () => {
  await page.getByLabel('Idioma').selectOption('en');
  await waitForHeading('Visits');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal((await page.locator('#nav a[data-nav="overview"]').textContent()).trim(), 'Overview');
  assert.match(await page.locator('#visits-table thead').textContent(), /Next visit due/);
  await page.reload();
  await waitForHeading('Visits');
  await page.getByRole('link', {name: 'Overview'}).click();
  await waitForHeading('Overview');
  assert.equal((await page.locator('#card-visits .card-label').textContent()).trim(), 'Visits this month');
  assert.match(await page.locator('#overdue-table').textContent(), /Never visited/);
});

test('signing out forgets the token and shows the sign-in form', async () => {
  await page.getByRole('button', {name: 'Sign out'}).click();
  await waitForHeading('Sign in');
  await page.getByText('You have signed out.').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('vinculo.session')), null);
  await page.goto(server.url + '/#/conflicts');
  await waitForHeading('Sign in');
  assert.equal(await page.locator('#conflicts-table').count(), 0);
});

test('nothing was loaded from elsewhere and no script error or CSP violation happened', () => {
  assert.deepEqual(external, []);
  assert.deepEqual(consoleErrors, []);
});
