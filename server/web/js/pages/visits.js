// Visits (/v1/visits), filtered by period, worker and kind, a page at a time ("Load more").

import {get} from '../api.js';
import {h} from '../dom.js';
import {t, enumLabel, formatDate, formatDateTime} from '../i18n.js';
import {
  childLink, filterForm, monthStart, pageHeader, printButton, tableSection, today,
} from '../ui.js';

export const nav = 'visits';

const PAGE = 200;
const KINDS = ['VISIT_KIND_ASSESSMENT', 'VISIT_KIND_FOLLOW_UP', 'VISIT_KIND_REINTEGRATION_PREPARATION',
               'VISIT_KIND_POST_REINTEGRATION_MONITORING', 'VISIT_KIND_OTHER'];

function filtersOf(route) {
  return {
    from: route.params.from || monthStart(),
    to: route.params.to || today(),
    worker: route.params.worker || '',
    kind: KINDS.includes(route.params.kind) ? route.params.kind : '',
    child: route.params.child || '',
  };
}

export async function load(route) {
  const filters = filtersOf(route);
  const reply = await get('/v1/visits', {...filters, limit: PAGE});
  return {filters, visits: reply.visits || [], regions: reply.regions || [], nextPage: reply.nextPage || ''};
}

export function render(data, route, ctx) {
  const f = data.filters;
  const rows = data.visits.map((v, i) => ({v, region: data.regions[i] || ''}));
  const columns = [
    {label: t('visits.date'), cell: (r) => formatDateTime(r.v.visitedAt), class: 'nowrap'},
    {label: t('visits.child'), cell: (r) => childLink(r.v.childId)},
    {label: t('visits.worker'), cell: (r) => r.v.worker},
    {label: t('visits.kind'), cell: (r) => enumLabel(r.v.kind)},
    {label: t('visits.risk'), cell: (r) => enumLabel(r.v.riskAssessment)},
    {label: t('visits.nextDue'), cell: (r) => formatDate(r.v.nextVisitDue), class: 'nowrap'},
    {label: t('visits.observations'), cell: (r) => r.v.observations || t('common.none'), class: 'prose'},
  ];
  const form = filterForm('visits-filter', [
    {name: 'from', label: t('common.from'), type: 'date', value: f.from},
    {name: 'to', label: t('common.to'), type: 'date', value: f.to},
    {name: 'worker', label: t('visits.worker'), value: f.worker},
    {name: 'kind', label: t('visits.kind'), type: 'select', value: f.kind,
     options: [{value: '', label: t('common.any')}, ...KINDS.map((k) => ({value: k, label: enumLabel(k)}))]},
  ], (values) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({...values, child: f.child})) if (v) q.set(k, v);
    ctx.navigate('#/visits?' + q.toString());
  });

  let more = null;
  if (data.nextPage) {
    more = h('button', {type: 'button', class: 'button-secondary no-print', id: 'visits-more'}, t('visits.more'));
    more.addEventListener('click', async () => {
      more.disabled = true;
      try {
        const reply = await get('/v1/visits', {...f, limit: PAGE, after: data.nextPage});
        data.visits = data.visits.concat(reply.visits || []);
        data.regions = data.regions.concat(reply.regions || []);
        data.nextPage = reply.nextPage || '';
        ctx.rerender();
      } catch (error) {
        more.disabled = false;
        ctx.fail(error);
      }
    });
  }
  const kind = f.kind.replace(/^VISIT_KIND_/, '').toLowerCase();
  const filename = ['vinculo-visits', f.from, 'to', f.to, f.worker, kind]
      .filter(Boolean).join('-').replace(/[^A-Za-z0-9._-]+/g, '_') + '.csv';
  return h('div', {class: 'page page-visits'},
           pageHeader(t('visits.title'), `${formatDate(f.from)} – ${formatDate(f.to)}`, printButton()),
           form,
           tableSection(columns, rows, {
             id: 'visits',
             heading: t(data.nextPage ? 'visits.shownMore' : 'visits.shown', {n: data.visits.length}),
             empty: t('visits.none'),
             rowHeader: true,
             // The CSV asks for up to 5,000 visits at once, not just the pages shown.
             csv: {source: {path: '/v1/visits', params: {...f, limit: 5000}}, filename},
           }),
           more);
}
