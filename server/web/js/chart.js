// The outcomes chart: one bar per month for the children returned to family life (left scale) and
// a line for the children living in institutions at each month's end (right scale). Plain SVG,
// sized by its viewBox so it fits its column; colours come from the stylesheet (classes only, no
// inline style, as the Content-Security-Policy asks).

import {s, h} from './dom.js';
import {formatMonth, formatNumber, locale} from './i18n.js';

const W = 600;
const H = 280;
const M = {top: 18, right: 36, bottom: 44, left: 32};

// A "nice" top for a scale with about `ticks` whole-number steps.
function niceMax(max, ticks = 4) {
  if (max <= ticks) return Math.max(ticks, 1);
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((m) => m >= raw);
  return Math.ceil(max / step) * step;
}

// "2026-06" → "jun" (the month alone, short, in the page's language).
function monthName(ym) {
  const m = /^(\d{4})-(\d{2})$/.exec(ym || '');
  if (!m) return ym || '';
  return new Intl.DateTimeFormat(locale(), {month: 'short', timeZone: 'UTC'})
      .format(new Date(Date.UTC(+m[1], +m[2] - 1, 1))).replace(/\.$/, '');
}

function ticksOf(top, count = 4) {
  const out = [];
  for (let i = 0; i <= count; i++) out.push((top * i) / count);
  return out;
}

// rows: OutcomeRow JSON ({key: "2026-06", reintegrated, institutionPopulation}). labels:
// {title, desc, bars, line}. Returns a <figure>.
export function outcomesChart(rows, labels) {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const bars = rows.map((r) => Number(r.reintegrated) || 0);
  const line = rows.map((r) => Number(r.institutionPopulation) || 0);
  const barTop = niceMax(Math.max(0, ...bars));
  const lineTop = niceMax(Math.max(0, ...line));
  const step = plotW / Math.max(rows.length, 1);
  const barW = Math.min(40, step * 0.6);
  const x = (i) => M.left + step * i + step / 2;
  const yBar = (v) => M.top + plotH - (v / barTop) * plotH;
  const yLine = (v) => M.top + plotH - (v / lineTop) * plotH;

  const grid = ticksOf(barTop).map((v) => s('g', {class: 'tick'},
      s('line', {x1: M.left, x2: M.left + plotW, y1: yBar(v), y2: yBar(v), class: 'grid'}),
      s('text', {x: M.left - 6, y: yBar(v) + 4, 'text-anchor': 'end', class: 'axis-label axis-bars'},
        Number.isInteger(v) ? formatNumber(v) : '')));
  const rightAxis = ticksOf(lineTop).map((v) =>
      s('text', {x: M.left + plotW + 6, y: yLine(v) + 4, 'text-anchor': 'start', class: 'axis-label axis-line'},
        Number.isInteger(v) ? formatNumber(v) : ''));
  const barEls = rows.map((r, i) => {
    const v = bars[i];
    const y = yBar(v);
    return s('g', {class: 'bar-group'},
             s('rect', {x: x(i) - barW / 2, y, width: barW, height: Math.max(0, M.top + plotH - y), class: 'bar'},
               s('title', null, `${formatMonth(r.key, true)}: ${formatNumber(v)} — ${labels.bars}`)),
             v > 0 ? s('text', {x: x(i), y: y - 4, 'text-anchor': 'middle', class: 'bar-value'}, formatNumber(v)) : null,
             s('text', {x: x(i), y: H - M.bottom + 16, 'text-anchor': 'middle', class: 'axis-label'},
               monthName(r.key)),
             // The year under the first month and under each January.
             i === 0 || r.key.endsWith('-01') ?
                 s('text', {x: x(i), y: H - M.bottom + 32, 'text-anchor': 'middle', class: 'axis-label axis-year'},
                   r.key.slice(0, 4)) : null);
  });
  const points = line.map((v, i) => `${x(i).toFixed(1)},${yLine(v).toFixed(1)}`).join(' ');
  const dots = line.map((v, i) => s('circle', {cx: x(i), cy: yLine(v), r: 3.5, class: 'dot'},
      s('title', null, `${formatMonth(rows[i].key, true)}: ${formatNumber(v)} — ${labels.line}`)));

  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title chart-desc',
    preserveAspectRatio: 'xMidYMid meet',
  },
  s('title', {id: 'chart-title'}, labels.title),
  s('desc', {id: 'chart-desc'}, labels.desc),
  grid, rightAxis,
  s('line', {x1: M.left, x2: M.left + plotW, y1: M.top + plotH, y2: M.top + plotH, class: 'axis'}),
  barEls,
  rows.length > 1 ? s('polyline', {points, class: 'line'}) : null,
  dots);

  const legend = h('ul', {class: 'legend', 'aria-hidden': 'true'},
                   h('li', null, h('span', {class: 'swatch swatch-bar'}), labels.bars),
                   h('li', null, h('span', {class: 'swatch swatch-line'}), labels.line));
  return h('figure', {class: 'chart-figure'}, svg, legend);
}
