// The overview: this month's visits and open cases (from /v1/caseload), the overdue list
// (/v1/overdue, a page at a time, with the count of all), the conflicts waiting (/v1/conflicts)
// and the outcomes chart (/v1/outcomes by month over the last 12 months).

import {get} from '../api.js';
import {outcomesChart} from '../chart.js';
import {h} from '../dom.js';
import {t, tn, formatDate, formatDay, formatMonth} from '../i18n.js';
import {
  childDisplayName, childLink, errorBox, monthStart, monthsAgo, num, pageHeader, printButton,
  rememberChild, tableSection, today,
} from '../ui.js';

const OVERDUE_DAYS = 30;
const OVERDUE_PAGE = 500;  // cases shown at first, and per "Load more"

async function settle(promise) {
  try {
    return {value: await promise};
  } catch (error) {
    return {error};
  }
}

export async function load() {
  const to = today();
  const period = {from: monthStart(), to};
  const outcomesPeriod = {from: monthsAgo(11), to, by: 'month'};
  const [caseload, overdue, conflicts, outcomes] = await Promise.all([
    settle(get('/v1/caseload', period)),
    settle(get('/v1/overdue', {as_of: to, days: OVERDUE_DAYS, limit: OVERDUE_PAGE})),
    settle(get('/v1/conflicts', {status: 'open'})),
    settle(get('/v1/outcomes', outcomesPeriod)),
  ]);
  // A failure everywhere is one error (the server is down, or the session ended).
  const all = [caseload, overdue, conflicts, outcomes];
  if (all.every((r) => r.error)) throw caseload.error;
  if (overdue.value) rememberOverdue(overdue.value.cases || []);
  return {asOf: to, period, outcomesPeriod, caseload, overdue, conflicts, outcomes};
}

function card(id, label, value, note, link) {
  return h('div', {class: 'card', id},
           h('p', {class: 'card-label', id: id + '-label'}, label),
           h('p', {class: 'card-value', 'aria-describedby': id + '-label'}, value),
           note ? h('p', {class: 'card-note'}, note) : null,
           link || null);
}

// An overdue row names its child: remembered for links elsewhere in this tab.
function rememberOverdue(cases) {
  for (const c of cases) rememberChild({id: c.childId, givenName: c.givenName, familyName: c.familyName});
}

function reasonText(c) {
  return c.reason === 'never_visited' ? t('reason.never_visited') : tn('reason.' + c.reason, c.daysOverdue);
}

function overdueSection(result, asOf, ctx) {
  if (result.error) return errorBox(result.error);
  const reply = result.value;
  const cases = reply.cases || [];
  const params = {as_of: asOf, days: reply.days};
  const columns = [
    {label: t('overdue.child'), cell: (c) => childLink(c.childId, childDisplayName({
      id: c.childId, givenName: c.givenName, familyName: c.familyName}))},
    {label: t('overdue.worker'), cell: (c) => c.assignedWorker || t('common.none')},
    {label: t('overdue.lastVisit'), cell: (c) => formatDay(c.lastVisitAt), class: 'nowrap'},
    {label: t('overdue.nextDue'), cell: (c) => formatDate(c.nextVisitDue), class: 'nowrap'},
    {label: t('overdue.reason'), cell: (c) => h('span', {class: 'tag tag-' + c.reason}, reasonText(c))},
  ];
  let more = null;
  if (reply.nextPage) {
    more = h('button', {type: 'button', class: 'button-secondary no-print', id: 'overdue-more'},
             t('overview.overdueMore'));
    more.addEventListener('click', async () => {
      more.disabled = true;
      try {
        const page = await get('/v1/overdue', {...params, limit: OVERDUE_PAGE, after: reply.nextPage});
        rememberOverdue(page.cases || []);
        reply.cases = cases.concat(page.cases || []);
        reply.nextPage = page.nextPage || '';
        reply.total = page.total;
        ctx.rerender();
      } catch (error) {
        more.disabled = false;
        ctx.fail(error);
      }
    });
  }
  const shown = cases.length < reply.total ?
      ' ' + t('overview.overdueShown', {shown: num(cases.length), total: num(reply.total)}) : '';
  const section = tableSection(columns, cases, {
    id: 'overdue',
    heading: t('overview.overdue'),
    description: t('overview.overdueDesc', {days: reply.days}) + shown,
    empty: t('overview.noOverdue'),
    rowHeader: true,
    // The CSV has every overdue case: the server's pages of 5,000, followed to the last.
    csv: {source: {path: '/v1/overdue', params: {...params, limit: 5000}, allPages: true},
          filename: `vinculo-overdue-${asOf}.csv`},
  });
  if (more) section.appendChild(more);
  return section;
}

function outcomesSection(result, period) {
  if (result.error) {
    return h('section', {class: 'panel', 'aria-labelledby': 'outcomes-heading'},
             h('h2', {id: 'outcomes-heading'}, t('overview.outcomes')), errorBox(result.error));
  }
  const rows = result.value.rows || [];
  const total = rows.reduce((n, r) => n + (Number(r.reintegrated) || 0), 0);
  const last = rows.length ? rows[rows.length - 1] : null;
  const labels = {
    title: t('overview.outcomes'),
    desc: t('overview.outcomesSummary', {
      from: rows.length ? formatMonth(rows[0].key, true) : '',
      to: last ? formatMonth(last.key, true) : '',
      total: num(total),
      population: num(last ? last.institutionPopulation : 0),
    }),
    bars: t('overview.legendReintegrated'),
    line: t('overview.legendPopulation'),
  };
  const table = tableSection([
    {label: t('outcomes.month'), cell: (r) => formatMonth(r.key, true)},
    {label: t('outcomes.reintegrated'), num: true, cell: (r) => num(r.reintegrated)},
    {label: t('outcomes.familyCare'), num: true, cell: (r) => num(r.placedInFamilyCare)},
    {label: t('outcomes.entered'), num: true, cell: (r) => num(r.enteredInstitutions)},
    {label: t('outcomes.left'), num: true, cell: (r) => num(r.leftInstitutions)},
    {label: t('outcomes.population'), num: true, cell: (r) => num(r.institutionPopulation)},
  ], rows, {
    id: 'outcomes-data',
    level: 3,
    heading: t('overview.outcomesTable'),
    rowHeader: true,
    csv: {source: {path: '/v1/outcomes', params: period},
          filename: `vinculo-outcomes-${period.from.slice(0, 7)}-to-${period.to.slice(0, 7)}.csv`},
  });
  return h('section', {class: 'panel', id: 'outcomes', 'aria-labelledby': 'outcomes-heading'},
           h('div', {class: 'panel-head'}, h('h2', {id: 'outcomes-heading'}, t('overview.outcomes'))),
           h('p', {class: 'panel-desc'}, t('overview.outcomesDesc')),
           outcomesChart(rows, labels),
           h('details', {class: 'outcomes-details'}, h('summary', null, t('overview.outcomesTable')), table));
}

export function render(data, route, ctx) {
  const caseloadRows = data.caseload.value ? data.caseload.value.rows || [] : null;
  const sum = (field) => caseloadRows.reduce((n, r) => n + (Number(r[field]) || 0), 0);
  const conflictCount = data.conflicts.value ? (data.conflicts.value.conflicts || []).length : null;
  const overdueCount = data.overdue.value ? data.overdue.value.total : null;
  const dash = t('common.none');

  const cards = h('div', {class: 'cards'},
    card('card-visits', t('overview.visitsMonth'), caseloadRows ? num(sum('visits')) : dash,
         t('overview.visitsMonthNote', {from: formatDate(data.period.from), to: formatDate(data.period.to)}),
         h('a', {href: `#/visits?from=${data.period.from}&to=${data.period.to}`}, t('nav.visits'))),
    card('card-open', t('overview.openCases'), caseloadRows ? num(sum('openCases')) : dash, null,
         h('a', {href: '#/caseload'}, t('overview.seeCaseload'))),
    card('card-overdue', t('overview.overdueCount'), overdueCount === null ? dash : num(overdueCount), null,
         h('a', {href: '#overdue-heading', class: 'in-page'}, t('overview.overdue'))),
    card('card-conflicts', t('overview.conflictsWaiting'), conflictCount === null ? dash : num(conflictCount), null,
         h('a', {href: '#/conflicts'}, t('overview.reviewConflicts'))));
  if (conflictCount !== null) cards.dataset.conflicts = String(conflictCount);

  return h('div', {class: 'page page-overview'},
           pageHeader(t('overview.title'), t('overview.asOf', {date: formatDate(data.asOf)}), printButton()),
           cards,
           h('div', {class: 'overview-grid'},
             outcomesSection(data.outcomes, data.outcomesPeriod),
             overdueSection(data.overdue, data.asOf, ctx)));
}

export const nav = 'overview';
export function conflictCount(data) {
  return data.conflicts.value ? (data.conflicts.value.conflicts || []).length : null;
}
