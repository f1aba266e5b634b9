// Pieces every page uses: tables with a CSV download, the status line, error boxes, dates.

import {downloadCsv, ApiError} from './api.js';
import {h, saveFile, csvText} from './dom.js';
import {t, formatNumber} from './i18n.js';

// ---- Dates on this computer's calendar ----------------------------------------------------------

function pad(n) {
  return String(n).padStart(2, '0');
}

export function ymd(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function today() {
  return ymd(new Date());
}

export function monthStart(date = new Date()) {
  return ymd(new Date(date.getFullYear(), date.getMonth(), 1));
}

// The first day of the month `months` before this one.
export function monthsAgo(months, date = new Date()) {
  return ymd(new Date(date.getFullYear(), date.getMonth() - months, 1));
}

// ---- Messages ---------------------------------------------------------------------------------

let announceTimer = 0;

// The status line read out by screen readers (role=status in index.html).
export function announce(text) {
  const el = document.getElementById('status');
  if (!el) return;
  el.textContent = '';
  // A new text node each time so that the same message twice is read twice.
  requestAnimationFrame(() => {
    el.textContent = text;
  });
  // The message stays long enough to read, then gets out of the way.
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => {
    if (el.textContent === text) el.textContent = '';
  }, 10_000);
}

// The user-facing text of an error.
export function errorText(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  const key = 'error.' + error.code;
  const vars = {message: error.message, field: error.field, status: error.status};
  const text = t(key, vars);
  return text === key ? t('error.other', vars) : text;
}

export function errorBox(error, retry) {
  return h('div', {class: 'notice notice-error', role: 'alert'},
           h('p', {class: 'notice-title'}, t('error.title')),
           h('p', null, errorText(error)),
           retry ? h('button', {type: 'button', on: {click: retry}}, t('common.retry')) : null);
}

// ---- Tables -----------------------------------------------------------------------------------

// A "Download CSV" button. `source` is {path, params, allPages} for the server's CSV of a query
// (with allPages, every page of it in one file), or {header, rows} for a table the server has no
// CSV of (made here, quoted the same way).
export function csvButton(source, filename, what) {
  const button = h('button', {
    type: 'button',
    class: 'button-secondary csv',
    'aria-label': t('common.csvOf', {what}),
    'data-csv': filename,
  }, t('common.csv'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      if (source.path) {
        await downloadCsv(source.path, source.params, filename, Boolean(source.allPages));
      } else {
        saveFile(filename, csvText(source.header, source.rows));
      }
    } catch (error) {
      announce(t('error.csv', {message: errorText(error)}));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

// A table section: a heading with its CSV button, then the table (or `empty` when no rows).
//   columns: [{label, cell(row) → text or Node, num: true for figures, class}]
//   options: {id, heading, level (2|3), description, csv: {source, filename}, empty, footer,
//             caption (for screen readers when the heading is not enough), rowAttrs(row)}
export function tableSection(columns, rows, options) {
  const headingId = options.id + '-heading';
  const Heading = 'h' + (options.level || 2);
  const table = rows.length === 0 ?
      h('p', {class: 'empty'}, options.empty) :
      h('div', {class: 'table-scroll'},
        h('table', {'aria-labelledby': headingId, id: options.id + '-table'},
          options.caption ? h('caption', {class: 'visually-hidden'}, options.caption) : null,
          h('thead', null, h('tr', null, columns.map((c) => h('th', {
            scope: 'col', class: [c.num && 'num', c.class],
          }, c.label)))),
          h('tbody', null, rows.map((row) => h('tr', options.rowAttrs ? options.rowAttrs(row) : null,
                                                 columns.map((c, i) => {
                                                   const value = c.cell(row);
                                                   const attrs = {class: [c.num && 'num', c.class]};
                                                   return i === 0 && options.rowHeader ?
                                                       h('th', {...attrs, scope: 'row'}, value) :
                                                       h('td', attrs, value);
                                                 })))),
          options.footer ? h('tfoot', null, options.footer) : null));
  return h('section', {class: 'panel', id: options.id, 'aria-labelledby': headingId},
           h('div', {class: 'panel-head'},
             h(Heading, {id: headingId}, options.heading),
             options.csv && rows.length > 0 ?
                 csvButton(options.csv.source, options.csv.filename, options.heading) : null),
           options.description ? h('p', {class: 'panel-desc'}, options.description) : null,
           table);
}

export function num(n) {
  return formatNumber(n);
}

// A page's top: its h1 (focused after navigation, so screen readers announce the new page) and
// optional actions beside it.
export function pageHeader(title, subtitle, ...actions) {
  return h('div', {class: 'page-head'},
           h('div', null,
             h('h1', {id: 'page-title', tabindex: '-1'}, title),
             subtitle ? h('p', {class: 'page-sub'}, subtitle) : null),
           actions.length ? h('div', {class: 'page-actions'}, actions) : null);
}

export function printButton() {
  return h('button', {type: 'button', class: 'button-secondary no-print', on: {click: () => window.print()}},
           t('common.print'));
}

// A small form of date fields and an Apply button; calls onApply(values) on submit.
//   fields: [{name, label, type ('date'|'text'|'select'), value, options: [{value, label}]}]
export function filterForm(id, fields, onApply) {
  const form = h('form', {class: 'filters no-print', id, role: 'search'},
                 fields.map((f) => {
                   const inputId = id + '-' + f.name;
                   const control = f.type === 'select' ?
                       h('select', {id: inputId, name: f.name},
                         f.options.map((o) => h('option', {value: o.value, selected: o.value === f.value}, o.label))) :
                       h('input', {id: inputId, name: f.name, type: f.type || 'text', value: f.value || '',
                                   autocomplete: 'off', spellcheck: 'false'});
                   return h('div', {class: 'field'}, h('label', {for: inputId}, f.label), control);
                 }),
                 h('div', {class: 'field field-submit'}, h('button', {type: 'submit'}, t('common.apply'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const values = {};
    for (const f of fields) values[f.name] = form.elements[f.name].value.trim();
    onApply(values);
  });
  return form;
}

// The last 8 characters of an id: UUIDv7s made in the same moment share their first ones.
export function shortId(id) {
  return id ? id.slice(-8) : '';
}

// ---- Children's names -------------------------------------------------------------------------
// The visits and conflicts answers carry a child's id, not its name. Names seen on other pages in
// this tab (the overdue list, a child's record) are remembered in memory only — never in storage —
// and shown where they are known.

const childNames = new Map();

export function childDisplayName(child) {
  return [child.givenName, child.familyName].filter(Boolean).join(' ') || shortId(child.id);
}

export function rememberChild(child) {
  if (child && child.id) childNames.set(child.id, childDisplayName(child));
}

export function forgetChildren() {
  childNames.clear();
}

// A link to a child's record, by name when known.
export function childLink(id, name) {
  const label = name || childNames.get(id);
  return h('a', {href: '#/children/' + encodeURIComponent(id), class: label ? null : 'mono',
                 title: label ? null : id}, label || '…' + shortId(id));
}
