// Caseload per worker (/v1/caseload) over a period: open cases, visits made, overdue cases.

import {get} from '../api.js';
import {h} from '../dom.js';
import {t, formatDate} from '../i18n.js';
import {filterForm, monthStart, num, pageHeader, printButton, tableSection, today} from '../ui.js';

export const nav = 'caseload';

export async function load(route) {
  const from = route.params.from || monthStart();
  const to = route.params.to || today();
  return get('/v1/caseload', {from, to});
}

export function render(data, route, ctx) {
  const rows = data.rows || [];
  const total = (field) => rows.reduce((n, r) => n + (Number(r[field]) || 0), 0);
  const period = {from: data.from, to: data.to};
  const columns = [
    {label: t('caseload.worker'), cell: (r) => (r.worker ?
        h('a', {href: `#/visits?worker=${encodeURIComponent(r.worker)}&from=${data.from}&to=${data.to}`,
                title: t('caseload.seeVisits', {worker: r.worker})}, r.worker) :
        t('caseload.unassigned'))},
    {label: t('caseload.region'), cell: (r) => r.region || t('common.none')},
    {label: t('caseload.open'), num: true, cell: (r) => num(r.openCases)},
    {label: t('caseload.visits'), num: true, cell: (r) => num(r.visits)},
    {label: t('caseload.overdue'), num: true, cell: (r) => num(r.overdue)},
  ];
  const footer = h('tr', null,
                   h('th', {scope: 'row', colspan: '2'}, t('common.total')),
                   h('td', {class: 'num'}, num(total('openCases'))),
                   h('td', {class: 'num'}, num(total('visits'))),
                   h('td', {class: 'num'}, num(total('overdue'))));
  const form = filterForm('caseload-filter', [
    {name: 'from', label: t('common.from'), type: 'date', value: data.from},
    {name: 'to', label: t('common.to'), type: 'date', value: data.to},
  ], (values) => ctx.navigate(`#/caseload?from=${values.from}&to=${values.to}`));
  return h('div', {class: 'page page-caseload'},
           pageHeader(t('caseload.title'),
                      `${formatDate(data.from)} – ${formatDate(data.to)}`, printButton()),
           form,
           tableSection(columns, rows, {
             id: 'caseload',
             heading: t('caseload.title'),
             description: t('caseload.desc'),
             empty: t('caseload.none'),
             rowHeader: true,
             footer: rows.length ? footer : null,
             csv: {source: {path: '/v1/caseload', params: period},
                   filename: `vinculo-caseload-${data.from}-to-${data.to}.csv`},
           }));
}
