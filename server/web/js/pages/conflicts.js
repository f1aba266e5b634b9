// Conflict review: the values that lost to a concurrent write (/v1/conflicts), with "Keep" and
// "Reinstate lost value" (POST /v1/conflicts/{id}/resolve). A reinstated value is a new write that
// reaches the devices at their next sync.

import {get, post, ApiError} from '../api.js';
import {h} from '../dom.js';
import {t, enumLabel, fieldLabel, formatDateTime, hasKey} from '../i18n.js';
import {
  announce, childLink, errorText, filterForm, pageHeader, printButton, shortId, tableSection, today,
} from '../ui.js';

export const nav = 'conflicts';

const RECORD_NAMES = {
  RECORD_TYPE_CHILD: 'child',
  RECORD_TYPE_FAMILY: 'family',
  RECORD_TYPE_CONTACT: 'contact',
  RECORD_TYPE_HOME_VISIT: 'home_visit',
  RECORD_TYPE_PLACEMENT_CHANGE: 'placement',
};

export async function load(route) {
  const status = ['open', 'resolved', 'all'].includes(route.params.status) ? route.params.status : 'open';
  const reply = await get('/v1/conflicts', {status});
  return {status, conflicts: reply.conflicts || []};
}

function camel(snake) {
  return snake.replace(/_([a-z])/g, (m, c) => c.toUpperCase());
}

// The one field a conflict's record carries ({"contact": {"id": ..., "phone": ...}}), as text.
function valueText(record, fieldName) {
  const message = record ? Object.values(record)[0] : null;
  if (!message || typeof message !== 'object') return t('common.empty');
  const value = message[camel(fieldName)];
  if (value === undefined || value === null || value === '') return t('common.empty');
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  if (Array.isArray(value)) return value.length ? value.join(', ') : t('common.empty');
  if (typeof value === 'string' && /^[A-Z][A-Z0-9_]+$/.test(value) && hasKey(value)) return enumLabel(value);
  return String(value);
}

// When a stamp was written: its HLC's upper 48 bits are Unix milliseconds.
function stampTime(stamp) {
  if (!stamp || !stamp.hlc) return null;
  try {
    return new Date(Number(BigInt(stamp.hlc) >> 16n));
  } catch (e) {
    return null;
  }
}

function provenance(stamp) {
  const when = stampTime(stamp);
  if (!when) return null;
  return h('span', {class: 'provenance', title: stamp.device},
           t('conflicts.written', {when: formatDateTime(when), device: t('common.device', {id: shortId(stamp.device)})}));
}

function recordLabel(entry) {
  return t('record.' + (RECORD_NAMES[entry.type] || 'child'));
}

// What each row shows, worked out once.
function view(entry) {
  const c = entry.conflict || {};
  const aboutDelete = c.kind === 'CONFLICT_KIND_EDIT_OF_DELETED' || c.kind === 'CONFLICT_KIND_DELETE_OF_EDITED';
  return {
    entry,
    field: fieldLabel(c.fieldName || ''),
    kept: aboutDelete ? t('conflicts.deleted') : valueText(c.winning, c.fieldName || ''),
    lost: valueText(c.losing, c.fieldName || ''),
    record: recordLabel(entry),
  };
}

export function render(data, route, ctx) {
  const rows = data.conflicts.map(view);

  async function resolve(row, keep, buttons) {
    for (const b of buttons) b.disabled = true;
    const id = row.entry.id;
    try {
      const resolved = await post(`/v1/conflicts/${encodeURIComponent(id)}/resolve`, {keep});
      if (data.status === 'open') {
        data.conflicts = data.conflicts.filter((e) => e.id !== id);
      } else {
        data.conflicts = data.conflicts.map((e) => (e.id === id ? resolved : e));
      }
      ctx.setConflictCount(data.status === 'open' ? data.conflicts.length : null);
      ctx.rerender();
      announce(keep === 'winner' ?
          t('conflicts.doneKeep', {id, field: row.field}) :
          t('conflicts.doneReinstate', {id, field: row.field, value: row.lost}));
      // Keyboard users land on the next decision, or on the heading when none is left.
      const next = document.querySelector('#conflicts-table button');
      (next || document.getElementById('page-title')).focus();
    } catch (error) {
      for (const b of buttons) b.disabled = false;
      announce(errorText(error));
      if (error instanceof ApiError && (error.code === 'failed_precondition' || error.code === 'not_found')) {
        ctx.reload();  // someone else decided it: show the list as it is now
      }
    }
  }

  function decision(row) {
    const e = row.entry;
    if (e.resolvedAt) {
      return h('span', {class: 'resolved'}, t('conflicts.resolvedBy', {
        resolution: t('conflicts.resolution.' + e.resolution), user: e.resolvedBy, when: formatDateTime(e.resolvedAt),
      }));
    }
    const names = {field: row.field, record: row.record};
    const keep = h('button', {type: 'button', class: 'button-secondary', 'data-action': 'keep',
                              'aria-label': t('conflicts.keepLabel', {...names, value: row.kept})}, t('conflicts.keep'));
    const reinstate = h('button', {type: 'button', 'data-action': 'reinstate',
                                   'aria-label': t('conflicts.reinstateLabel', {...names, value: row.lost})},
                        t('conflicts.reinstate'));
    keep.addEventListener('click', () => resolve(row, 'winner', [keep, reinstate]));
    reinstate.addEventListener('click', () => resolve(row, 'loser', [keep, reinstate]));
    return h('div', {class: 'actions'}, keep, reinstate);
  }

  const columns = [
    {label: t('conflicts.record'), cell: (r) => h('div', null,
        h('div', null, r.record, ' ',
          r.entry.type === 'RECORD_TYPE_CHILD' ? childLink(r.entry.conflict.recordId) :
              h('span', {class: 'mono', title: r.entry.conflict.recordId}, '…' + shortId(r.entry.conflict.recordId))),
        r.entry.conflict.kind !== 'CONFLICT_KIND_CONCURRENT_WRITE' ?
            h('div', {class: 'small'}, enumLabel(r.entry.conflict.kind)) : null)},
    {label: t('conflicts.field'), cell: (r) => r.field},
    {label: t('conflicts.kept'), cell: (r) => h('div', null, h('div', {class: 'value value-kept'}, r.kept),
                                                provenance(r.entry.conflict.winningStamp))},
    {label: t('conflicts.lost'), cell: (r) => h('div', null, h('div', {class: 'value value-lost'}, r.lost),
                                                provenance(r.entry.conflict.losingStamp))},
    {label: t('conflicts.detected'), cell: (r) => formatDateTime(r.entry.detectedAt), class: 'nowrap'},
    {label: t('conflicts.action'), cell: decision, class: 'no-print-col'},
  ];

  const statusForm = filterForm('conflict-filter', [{
    name: 'status', label: t('conflicts.status'), type: 'select', value: data.status,
    options: ['open', 'resolved', 'all'].map((v) => ({value: v, label: t('conflicts.status.' + v)})),
  }], (values) => ctx.navigate('#/conflicts?status=' + values.status));

  return h('div', {class: 'page page-conflicts'},
           pageHeader(t('conflicts.title'),
                      data.status === 'open' ? t('conflicts.count', {n: data.conflicts.length}) : null,
                      printButton()),
           h('p', {class: 'lead'}, t('conflicts.intro')),
           statusForm,
           tableSection(columns, rows, {
             id: 'conflicts',
             heading: t('conflicts.status.' + data.status),
             empty: data.status === 'resolved' ? t('conflicts.noneResolved') : t('conflicts.none'),
             rowAttrs: (r) => ({id: 'conflict-' + r.entry.id, 'data-conflict': r.entry.id}),
             csv: {source: {path: '/v1/conflicts', params: {status: data.status}},
                   filename: `vinculo-conflicts-${data.status}-${today()}.csv`},
           }));
}

export function conflictCount(data) {
  return data.status === 'open' ? data.conflicts.length : null;
}
