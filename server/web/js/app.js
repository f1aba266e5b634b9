// The dashboard's shell: the hash router (#/, #/visits, #/caseload, #/conflicts, #/children/ID),
// the header (navigation, who is signed in, language, sign-out) and the page life cycle: load the
// data once, render it, render it again from the same data when the language changes (so a child's
// record is not read — and audited — twice).

import {session, setUnauthenticatedHandler, signOut} from './api.js';
import {clear, h} from './dom.js';
import {LANGUAGES, language, setLanguage, t} from './i18n.js';
import * as caseload from './pages/caseload.js';
import * as child from './pages/child.js';
import * as conflicts from './pages/conflicts.js';
import * as login from './pages/login.js';
import * as overview from './pages/overview.js';
import * as visits from './pages/visits.js';
import {announce, errorBox, forgetChildren} from './ui.js';

const PAGES = {'': overview, 'visits': visits, 'caseload': caseload, 'conflicts': conflicts, 'children': child};
const main = document.getElementById('main');

// What is on screen: the page module, its route and its data. `seq` drops a slow load that a later
// navigation overtook.
let current = null;
let seq = 0;
let loginNotice = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const segments = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch (e) {
      return p;
    }
  });
  const params = Object.fromEntries(new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)));
  return {name: segments[0] || '', id: segments[1] || '', params, hash: location.hash || '#/'};
}

// ---- The header ----------------------------------------------------------------------------------

function applyStaticText() {
  document.documentElement.lang = language();
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  const s = session();
  const who = document.getElementById('who');
  if (s) {
    who.textContent = t('session.who', {
      user: s.username, role: t('role.' + s.role), region: s.region || t('session.allRegions'),
    });
  }
}

function showChrome(signedIn) {
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('session').hidden = !signedIn;
  document.body.classList.toggle('signed-out', !signedIn);
}

function markNav(navName) {
  for (const a of document.querySelectorAll('#nav a[data-nav]')) {
    if (a.dataset.nav === navName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function setConflictCount(n) {
  const badge = document.getElementById('conflict-badge');
  if (n === null || n === undefined) return;
  badge.textContent = String(n);
  badge.hidden = n === 0;
}

function setTitle(pageTitle) {
  document.title = pageTitle ? `${pageTitle} · ${t('app.name')}` : t('app.name');
}

// ---- Pages ---------------------------------------------------------------------------------------

function focusTitle() {
  const title = document.getElementById('page-title');
  if (title) title.focus({preventScroll: false});
}

function showLogin() {
  current = null;
  showChrome(false);
  forgetChildren();
  clear(main).appendChild(login.render(loginNotice, () => {
    loginNotice = null;
    showChrome(true);
    applyStaticText();
    if (!location.hash || location.hash === '#/login') location.hash = '#/';
    else route();
  }));
  setTitle(t('login.title'));
  focusTitle();
}

function context() {
  return {
    rerender: () => paint(false),
    reload: () => route(),
    navigate: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
    setConflictCount,
    fail: (error) => announce(error.message),
  };
}

// Draws `current` from its data; focuses the page title after a navigation.
function paint(focus) {
  if (!current) return;
  const {page, route: r, data} = current;
  const node = page.render(data, r, context());
  clear(main).appendChild(node);
  const heading = document.getElementById('page-title');
  setTitle(heading ? heading.textContent : '');
  if (page.conflictCount) setConflictCount(page.conflictCount(data));
  if (focus) focusTitle();
}

async function route() {
  const r = parseHash();
  if (!session()) {
    showLogin();
    return;
  }
  showChrome(true);
  const page = PAGES[r.name];
  if (!page || (r.name === 'children' && !r.id)) {
    location.replace('#/');
    return;
  }
  markNav(page.nav);
  const mine = ++seq;
  main.setAttribute('aria-busy', 'true');
  clear(main).appendChild(h('p', {class: 'loading'}, t('common.loading')));
  try {
    const data = await page.load(r);
    if (mine !== seq) return;
    current = {page, route: r, data};
    paint(true);
  } catch (error) {
    if (mine !== seq || !session()) return;
    current = null;
    clear(main).appendChild(h('div', {class: 'page'}, errorBox(error, () => route())));
    setTitle(t('error.title'));
  } finally {
    if (mine === seq) main.removeAttribute('aria-busy');
  }
}

// ---- Start ---------------------------------------------------------------------------------------

function start() {
  const select = document.getElementById('lang');
  for (const l of LANGUAGES) select.appendChild(h('option', {value: l.code, lang: l.code}, l.name));
  select.value = language();
  select.addEventListener('change', () => {
    setLanguage(select.value);
    applyStaticText();
    if (current) paint(false);
    else if (!session()) showLogin();
    else route();
  });

  document.getElementById('sign-out').addEventListener('click', () => {
    signOut();
    seq++;
    loginNotice = 'login.signedOut';
    if (location.hash && location.hash !== '#/') location.hash = '#/';
    showLogin();
  });

  setUnauthenticatedHandler(() => {
    seq++;
    loginNotice = 'error.unauthenticated';
    showLogin();
  });

  // Links inside a page ("#overdue-heading") and the skip link move focus, not the route.
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href^="#"]');
    if (!a) return;
    const href = a.getAttribute('href');
    if (href.startsWith('#/')) return;
    e.preventDefault();
    const target = document.getElementById(href.slice(1));
    if (target) {
      if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
      target.focus();
      target.scrollIntoView({block: 'start'});
    }
  });

  // Printing shows the numbers folded away under <details>, then folds them back.
  const opened = [];
  window.addEventListener('beforeprint', () => {
    for (const d of document.querySelectorAll('details:not([open])')) {
      d.open = true;
      opened.push(d);
    }
  });
  window.addEventListener('afterprint', () => {
    while (opened.length) opened.pop().open = false;
  });

  window.addEventListener('hashchange', () => {
    if (location.hash && !location.hash.startsWith('#/')) return;
    route();
  });

  applyStaticText();
  route();
}

start();
