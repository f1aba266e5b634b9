// A child's record and history (/v1/children/{id}): the case, the household, the contacts, the
// placement changes and every visit. The server audits each read.

import {get} from '../api.js';
import {h} from '../dom.js';
import {t, enumLabel, fieldLabel, formatDate, formatDateTime} from '../i18n.js';
import {
  childDisplayName, pageHeader, printButton, rememberChild, tableSection,
} from '../ui.js';

export const nav = null;

export async function load(route) {
  const history = await get('/v1/children/' + encodeURIComponent(route.id));
  rememberChild(history.child);
  return history;
}

function ageOf(birthDate) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate || '');
  if (!m) return null;
  const now = new Date();
  let years = now.getFullYear() - +m[1];
  if (now.getMonth() + 1 < +m[2] || (now.getMonth() + 1 === +m[2] && now.getDate() < +m[3])) years--;
  return years >= 0 ? years : null;
}

// A <dl> of label/value pairs, leaving out empty values.
function facts(pairs) {
  return h('dl', {class: 'facts'}, pairs.filter(([, value]) => value !== '' && value !== null && value !== undefined)
      .map(([label, value]) => h('div', {class: 'fact'}, h('dt', null, label), h('dd', null, value))));
}

// The CSV spelling of an enum value, as the server's CSVs and the CLI write it:
// RELATIONSHIP_AUNT_UNCLE → "aunt-uncle".
function csvEnum(name, prefix) {
  if (!name || name.endsWith('_UNSPECIFIED')) return '';
  return name.slice(prefix.length).toLowerCase().replace(/_/g, '-');
}

function contactName(c) {
  return [c.givenName, c.familyName].filter(Boolean).join(' ');
}

export function render(data) {
  const child = data.child;
  const name = childDisplayName(child);
  const age = ageOf(child.birthDate);
  const contactsById = new Map((data.contacts || []).map((c) => [c.id, c]));
  const yesNo = (b) => (b ? t('common.yes') : t('common.no'));
  const fileBase = `vinculo-child-${child.id.slice(-8)}`;

  const caseFacts = facts([
    [fieldLabel('birth_date'), child.birthDate ?
        formatDate(child.birthDate) + (age !== null ? ` (${t('child.age', {years: age})})` : '') : ''],
    [fieldLabel('sex'), child.sex && child.sex !== 'SEX_UNSPECIFIED' ? enumLabel(child.sex) : ''],
    [fieldLabel('programme'), child.programme],
    [fieldLabel('region'), child.region],
    [fieldLabel('assigned_worker'), child.assignedWorker],
    [fieldLabel('placement'), h('span', {class: 'tag'}, enumLabel(child.placement))],
    [fieldLabel('status'), h('span', {class: 'tag tag-status-' + (child.status || '').toLowerCase()}, enumLabel(child.status))],
    [fieldLabel('risk_level'), h('span', {class: 'tag tag-' + (child.riskLevel || '').toLowerCase()}, enumLabel(child.riskLevel))],
    [fieldLabel('notes'), child.notes],
  ]);

  const family = data.family && data.family.id ? data.family : null;
  const familySection = h('section', {class: 'panel', 'aria-labelledby': 'family-heading'},
      h('div', {class: 'panel-head'}, h('h2', {id: 'family-heading'}, t('child.family'))),
      family ? facts([
        [fieldLabel('name'), family.name],
        [fieldLabel('address'), family.address],
        [fieldLabel('region'), family.region],
        [fieldLabel('notes'), family.notes],
      ]) : h('p', {class: 'empty'}, t('child.noFamily')));

  const contactColumns = [
    {label: fieldLabel('name'), cell: (c) => contactName(c)},
    {label: fieldLabel('relationship'), cell: (c) => enumLabel(c.relationship)},
    {label: fieldLabel('phone'), cell: (c) => c.phone || t('common.none'), class: 'nowrap'},
    {label: fieldLabel('address'), cell: (c) => c.address || t('common.none')},
    {label: fieldLabel('consent_to_contact'), cell: (c) => yesNo(c.consentToContact)},
  ];
  const contacts = tableSection(contactColumns, data.contacts || [], {
    id: 'contacts',
    heading: t('child.contacts'),
    empty: t('child.noContacts'),
    rowHeader: true,
    csv: {source: {
      header: ['id', 'given_name', 'family_name', 'relationship', 'phone', 'address', 'consent_to_contact', 'notes'],
      rows: (data.contacts || []).map((c) => [c.id, c.givenName, c.familyName, csvEnum(c.relationship, 'RELATIONSHIP_'),
                                               c.phone, c.address, c.consentToContact ? 'yes' : 'no', c.notes]),
    }, filename: `${fileBase}-contacts.csv`},
  });

  const placementColumns = [
    {label: fieldLabel('changed_on'), cell: (p) => formatDate(p.changedOn), class: 'nowrap'},
    {label: fieldLabel('from_placement'), cell: (p) => enumLabel(p.fromPlacement)},
    {label: fieldLabel('to_placement'), cell: (p) => enumLabel(p.toPlacement)},
    {label: fieldLabel('reason'), cell: (p) => p.reason || t('common.none')},
  ];
  const placements = tableSection(placementColumns, data.placements || [], {
    id: 'placements',
    heading: t('child.placements'),
    empty: t('child.noPlacements'),
    rowHeader: true,
    csv: {source: {
      header: ['id', 'changed_on', 'from_placement', 'to_placement', 'reason'],
      rows: (data.placements || []).map((p) => [p.id, p.changedOn, csvEnum(p.fromPlacement, 'PLACEMENT_'),
                                                 csvEnum(p.toPlacement, 'PLACEMENT_'), p.reason]),
    }, filename: `${fileBase}-placements.csv`},
  });

  // Latest first on screen; the CSV keeps the server's order (oldest first).
  const visitsNewestFirst = [...(data.visits || [])].reverse();
  const visitColumns = [
    {label: t('visits.date'), cell: (v) => formatDateTime(v.visitedAt), class: 'nowrap'},
    {label: t('visits.kind'), cell: (v) => enumLabel(v.kind)},
    {label: t('visits.worker'), cell: (v) => v.worker},
    {label: t('visits.attendees'), cell: (v) => (v.attendees || []).map((id) => {
      const c = contactsById.get(id);
      return c ? contactName(c) : '…' + id.slice(-8);
    }).join(', ') || t('common.none')},
    {label: t('visits.risk'), cell: (v) => enumLabel(v.riskAssessment)},
    {label: t('visits.observations'), cell: (v) => v.observations || t('common.none'), class: 'prose'},
    {label: t('visits.agreed'), cell: (v) => v.agreedActions || t('common.none'), class: 'prose'},
    {label: t('visits.nextDue'), cell: (v) => formatDate(v.nextVisitDue), class: 'nowrap'},
  ];
  const visits = tableSection(visitColumns, visitsNewestFirst, {
    id: 'child-visits',
    heading: t('child.visits'),
    empty: t('child.noVisits'),
    rowHeader: true,
    csv: {source: {path: '/v1/children/' + encodeURIComponent(child.id), params: {}},
          filename: `${fileBase}-visits.csv`},
  });

  return h('div', {class: 'page page-child'},
           pageHeader(name, t('child.title') + ' · ' + t('child.audited'), printButton()),
           h('div', {class: 'child-top'},
             h('section', {class: 'panel', 'aria-labelledby': 'case-heading'},
               h('div', {class: 'panel-head'}, h('h2', {id: 'case-heading'}, t('child.case'))), caseFacts),
             familySection),
           contacts, placements, visits);
}

export function title(data) {
  return childDisplayName(data.child);
}
