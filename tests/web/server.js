// A real vinculo-server for the dashboard's end-to-end test, and devices that fill it through the
// sync path, as people would: certificates from deploy/make-certs.sh, users from
// `vinculo-server user add`, `serve` on 127.0.0.1 with an ephemeral port, and the `vinculo` CLI on
// one home directory per device (init, login, add records, update, sync) — see deploy/demo.sh.
//
// The paths of the binaries come from the environment (set by CMake for ctest):
//   VINCULO_SERVER      build/server/vinculo-server
//   VINCULO_CLI         build/client/cli/vinculo
//   VINCULO_MAKE_CERTS  deploy/make-certs.sh

import {spawn} from 'node:child_process';
import {closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs';
import https from 'node:https';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';

function requiredPath(name) {
  const path = process.env[name];
  if (!path) throw new Error(`${name} is not set: run this test through ctest, or set it to the built binary`);
  if (!existsSync(path)) throw new Error(`${name}=${path} does not exist: build it first`);
  return path;
}

export const binaries = {
  get server() { return requiredPath('VINCULO_SERVER'); },
  get cli() { return requiredPath('VINCULO_CLI'); },
  get makeCerts() { return requiredPath('VINCULO_MAKE_CERTS'); },
};

// Runs `argv` to completion with `input` on standard input; resolves to its standard output,
// rejects with both outputs when it exits non-zero.
export function run(argv, {input = '', env = {}} = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {env: {...process.env, ...env}, stdio: ['pipe', 'pipe', 'pipe']});
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')} exited with ${code}\n${out}${err}`));
    });
    child.stdin.end(input);
  });
}

export function password(username) {
  return `secreto-${username}-2026`;
}

export class TestServer {
  // `dir`: a fresh temporary directory (made when not given) holding certs/, data/, devices.
  constructor(dir = mkdtempSync(join(tmpdir(), 'vinculo-web-'))) {
    this.dir = dir;
    this.data = join(dir, 'data');
    this.certs = join(dir, 'certs');
    this.log = join(dir, 'server.log');
    this.portFile = join(dir, 'port');
    this.process = null;
    this.url = '';
  }

  get ca() {
    return join(this.certs, 'ca.pem');
  }

  async makeCerts() {
    await run(['/bin/bash', binaries.makeCerts, this.certs, 'localhost', '127.0.0.1']);
  }

  async addUser(username, role, region) {
    const args = [binaries.server, 'user', 'add', '--data', this.data, '--username', username, '--role', role];
    if (region) args.push('--region', region);
    await run(args, {input: password(username) + '\n'});
  }

  // `vinculo-server serve` on 127.0.0.1:0; resolves once it listens.
  async start() {
    rmSync(this.portFile, {force: true});
    const log = openSync(this.log, 'a');
    this.process = spawn(binaries.server, [
      'serve', '--data', this.data, '--listen', '127.0.0.1:0',
      '--cert', join(this.certs, 'server.pem'), '--key', join(this.certs, 'server.key'),
      '--port-file', this.portFile,
    ], {stdio: ['ignore', log, log]});
    closeSync(log);  // the server has its own copy
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    for (let i = 0; i < 500; i++) {
      if (existsSync(this.portFile)) {
        const port = parseInt(readFileSync(this.portFile, 'utf8'), 10);
        if (port > 0) {
          this.url = `https://127.0.0.1:${port}`;
          this.exited = exited;
          return;
        }
      }
      if (this.process.exitCode !== null) break;
      await sleep(20);
    }
    throw new Error(`vinculo-server did not start; its log:\n${this.logText()}`);
  }

  logText() {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8') : '(no log)';
  }

  // SIGTERM and wait: in-flight requests finish, the store closes.
  async stop() {
    if (!this.process || this.process.exitCode !== null) return;
    this.process.kill('SIGTERM');
    await this.exited;
  }

  // A device: the `vinculo` CLI on its own home directory.
  device(name) {
    return new Device(this, name);
  }

  // One HTTPS request from Node (trusting the test CA): {status, headers, body}.
  request(path, {method = 'GET', headers = {}, body} = {}) {
    return new Promise((resolve, reject) => {
      const req = https.request(this.url + path, {method, headers, ca: readFileSync(this.ca)}, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({status: res.statusCode, headers: res.headers,
                                     body: Buffer.concat(chunks).toString('utf8')}));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  // A bearer token for `username`, as a browser would get it.
  async token(username, deviceId) {
    const r = await this.request('/v1/login', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({username, password: password(username), deviceId}),
    });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.body}`);
    return JSON.parse(r.body).token;
  }

  cleanUp(keep) {
    if (!keep) rmSync(this.dir, {recursive: true, force: true});
  }
}

export class Device {
  constructor(server, name) {
    this.server = server;
    this.name = name;
    this.home = join(server.dir, 'devices', name);
  }

  // `vinculo ARGS...` on this device; resolves to its trimmed standard output.
  async cli(args, input = '') {
    const out = await run([binaries.cli, ...args], {input, env: {VINCULO_HOME: this.home}});
    return out.trim();
  }

  async enrol(username) {
    this.id = await this.cli(['init', '--server', this.server.url, '--ca', this.server.ca]);
    await this.cli(['login', '--username', username], password(username) + '\n');
    return this;
  }

  // `vinculo KIND add` with friendly flags ({given-name: 'Lucía', ...}); resolves to the new id.
  async add(kind, flags) {
    const args = [kind, 'add'];
    for (const [name, value] of Object.entries(flags)) {
      if (value === undefined || value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) args.push('--' + name, String(v));
    }
    return this.cli(args);
  }

  async update(kind, id, flags) {
    const args = [kind, 'update', id];
    for (const [name, value] of Object.entries(flags)) args.push('--' + name, String(value));
    return this.cli(args);
  }

  // The record as the device holds it (proto3 JSON).
  async show(kind, id) {
    return JSON.parse(await this.cli([kind, 'show', id, '--json']));
  }

  async sync() {
    return this.cli(['sync', '--quiet']);
  }
}

// ---- Realistic data -------------------------------------------------------------------------------

// Calendar dates relative to `today` (a Date at UTC midnight).
export function dayOffset(today, days) {
  const d = new Date(today.getTime() + days * 86_400_000);
  return d.toISOString().slice(0, 10);
}

// The first day of the month `months` before `today`'s, plus `day - 1` days.
export function monthDay(today, months, day) {
  const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - months, day));
  return d.toISOString().slice(0, 10);
}

// A visit at 15:00 in Peru (20:00 UTC, the same calendar day in both).
function visitedAt(ymd) {
  return `${ymd}T15:00:00-05:00`;
}

// Fills the server with a region's programme, through devices that sync: Ana (two devices) and
// Luis, field workers in Cusco; Marta in Puno (the Cusco supervisor must not see her case). Ana's
// phone and laptop then change Rosa's phone number and Lucía's risk level offline: two conflicts.
// Returns what the test checks against.
export async function seed(server, today) {
  const anaPhone = await server.device('ana-phone').enrol('ana');
  const luisPhone = await server.device('luis-phone').enrol('luis');
  const martaPhone = await server.device('marta-phone').enrol('marta');
  const visits = [];  // {worker, date} of every visit, to count the expected figures

  async function child(device, worker, c) {
    const id = await device.add('child', {
      'given-name': c.given, 'family-name': c.family, 'birth-date': c.born, 'sex': c.sex,
      'region': c.region || 'Cusco', 'programme': c.programme || 'reintegración familiar',
      'assigned-worker': worker, 'placement': c.placement, 'status': c.status || 'open', 'risk': c.risk || 'medium',
      'family': c.familyId,
    });
    for (const p of c.moves || []) {
      await device.add('placement', {child: id, from: p.from, to: p.to, date: p.date, reason: p.reason});
    }
    for (const v of c.visits || []) {
      await device.add('visit', {
        'child': id, 'family': c.familyId, 'kind': v.kind, 'visited-at': visitedAt(v.date),
        'observations': v.observations, 'risk': v.risk || 'medium', 'agreed-actions': v.agreed,
        'next-due': v.nextDue, 'attendee': v.attendees,
      });
      visits.push({worker, date: v.date, child: id});
    }
    return id;
  }

  // Ana's cases, on her phone.
  const quispe = await anaPhone.add('family', {
    'name': 'Familia Quispe Mamani', 'region': 'Cusco', 'address': 'Jr. Ayacucho 312, San Jerónimo',
  });
  const lucia = await child(anaPhone, 'ana', {
    given: 'Lucía', family: 'Quispe Mamani', born: '2015-03-14', sex: 'female', placement: 'kinship-care',
    familyId: quispe, risk: 'medium',
    moves: [{from: 'residential-institution', to: 'kinship-care', date: monthDay(today, 2, 10),
             reason: 'Vuelve a vivir con su abuela Rosa'}],
  });
  const carmen = await anaPhone.add('contact', {
    'child': lucia, 'family': quispe, 'given-name': 'Carmen', 'family-name': 'Mamani',
    'relationship': 'mother', 'phone': '+51 984 100 200', 'consent': 'yes',
  });
  const rosa = await anaPhone.add('contact', {
    'child': lucia, 'family': quispe, 'given-name': 'Rosa', 'family-name': 'Quispe',
    'relationship': 'grandparent', 'phone': '+51 984 111 222', 'consent': 'yes',
  });
  for (const v of [
    {kind: 'assessment', date: monthDay(today, 5, 6), attendees: [carmen, rosa],
     observations: 'Lucía pregunta por su abuela; la casa tiene espacio para ella.',
     agreed: 'Preparar visitas de fin de semana con la abuela.', nextDue: monthDay(today, 4, 20)},
    {kind: 'reintegration-preparation', date: monthDay(today, 3, 8), attendees: [rosa],
     observations: 'Primer fin de semana con la abuela: bien.', nextDue: monthDay(today, 2, 20)},
    {kind: 'post-reintegration-monitoring', date: dayOffset(today, -20), attendees: [rosa, carmen],
     observations: 'Asiste a la escuela; la madre visita los domingos.',
     agreed: 'Inscribir a Lucía en el comedor escolar.', nextDue: dayOffset(today, -10)},
  ]) {
    await anaPhone.add('visit', {
      'child': lucia, 'family': quispe, 'kind': v.kind, 'visited-at': visitedAt(v.date),
      'observations': v.observations, 'risk': 'medium', 'agreed-actions': v.agreed,
      'next-due': v.nextDue, 'attendee': v.attendees,
    });
    visits.push({worker: 'ana', date: v.date, child: lucia});
  }
  const mateo = await child(anaPhone, 'ana', {
    given: 'Mateo', family: 'Huamán Condori', born: '2012-09-02', sex: 'male', placement: 'family-of-origin',
    status: 'reintegrated', risk: 'low',
    moves: [{from: 'residential-institution', to: 'family-of-origin', date: monthDay(today, 5, 18),
             reason: 'Reintegración con sus padres'}],
    visits: [{kind: 'post-reintegration-monitoring', date: dayOffset(today, -8), risk: 'low',
              observations: 'Buena relación con sus hermanos.', nextDue: dayOffset(today, 20)}],
  });
  const joaquin = await child(anaPhone, 'ana', {
    given: 'Joaquín', family: 'Apaza Layme', born: '2014-01-22', sex: 'male', placement: 'kinship-care',
    moves: [{from: 'residential-institution', to: 'kinship-care', date: monthDay(today, 1, 12),
             reason: 'Con su tía materna'}],
    visits: [{kind: 'follow-up', date: dayOffset(today, -12), observations: 'La tía pide apoyo escolar.',
              nextDue: dayOffset(today, -2)}],
  });
  const ximena = await child(anaPhone, 'ana', {
    given: 'Ximena', family: 'Quispe Huillca', born: '2016-07-30', sex: 'female',
    placement: 'residential-institution', risk: 'high',
    moves: [{from: 'family-of-origin', to: 'residential-institution', date: monthDay(today, 9, 4),
             reason: 'Medida de protección'}],
    visits: [{kind: 'assessment', date: dayOffset(today, -6), risk: 'high',
              observations: 'Evaluación de la familia extensa en Urubamba.', nextDue: dayOffset(today, 8)}],
  });
  const sofiaH = await child(anaPhone, 'ana', {
    given: 'Sofía', family: 'Huarcaya Ttito', born: '2013-11-05', sex: 'female', placement: 'family-of-origin',
    moves: [{from: 'residential-institution', to: 'family-of-origin', date: monthDay(today, 0, 1),
             reason: 'Regresa con su madre'}],
    visits: [{kind: 'reintegration-preparation', date: dayOffset(today, -1),
              observations: 'La madre preparó la habitación.', nextDue: dayOffset(today, 14)}],
  });
  await anaPhone.sync();

  // Luis's cases, on his phone.
  const valentina = await child(luisPhone, 'luis', {
    given: 'Valentina', family: 'Ccori Puma', born: '2011-05-19', sex: 'female',
    placement: 'residential-institution',
    visits: [{kind: 'assessment', date: dayOffset(today, -45), observations: 'Primera entrevista.'}],
  });
  const santiago = await child(luisPhone, 'luis', {
    given: 'Santiago', family: 'Mamani Túpac', born: '2017-02-11', sex: 'male', placement: 'residential-institution',
    risk: 'high',
  });
  const camila = await child(luisPhone, 'luis', {
    given: 'Camila', family: 'Rojas Quispe', born: '2010-12-01', sex: 'female', placement: 'foster-family',
    risk: 'low',
    moves: [{from: 'residential-institution', to: 'foster-family', date: monthDay(today, 7, 15),
             reason: 'Familia acogedora en Wanchaq'}],
    visits: [{kind: 'follow-up', date: dayOffset(today, -3), risk: 'low', observations: 'Adaptación buena.',
              nextDue: dayOffset(today, 11)}],
  });
  const diego = await child(luisPhone, 'luis', {
    given: 'Diego', family: 'Flores Cusi', born: '2007-04-03', sex: 'male', placement: 'independent-living',
    status: 'closed', risk: 'low',
  });
  await luisPhone.sync();

  // Another region.
  const rodrigo = await child(martaPhone, 'marta', {
    given: 'Rodrigo', family: 'Ccama Quispe', born: '2015-08-08', sex: 'male', region: 'Puno',
    placement: 'residential-institution',
  });
  await martaPhone.sync();

  // Ana's laptop catches up, then both of her devices change the same values offline.
  const anaLaptop = await server.device('ana-laptop').enrol('ana');
  await anaLaptop.sync();
  await anaPhone.update('contact', rosa, {phone: '+51 984 333 444'});
  await anaPhone.update('child', lucia, {risk: 'high'});
  await sleep(5);
  await anaLaptop.update('contact', rosa, {phone: '+51 984 555 666'});
  await anaLaptop.update('child', lucia, {risk: 'low'});
  await anaPhone.sync();
  await anaLaptop.sync();
  await anaPhone.sync();

  return {
    devices: {anaPhone, anaLaptop, luisPhone, martaPhone},
    children: {lucia, mateo, joaquin, ximena, sofiaH, valentina, santiago, camila, diego, rodrigo},
    contacts: {carmen, rosa},
    visits,
  };
}
