// Building the page from data without innerHTML: every value from the server goes in as text, so
// a name like "<script>" is shown, never run.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) {
      append(parent, child);
    } else if (child instanceof Node) {
      parent.appendChild(child);
    } else {
      parent.appendChild(document.createTextNode(String(child)));
    }
  }
}

function setAttributes(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'on') {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (name === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (name === 'value' && 'value' in el) {
      el.value = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  return el;
}

// h('a', {href: '#/x', class: 'c'}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = setAttributes(document.createElement(tag), attrs);
  append(el, children);
  return el;
}

// The same for SVG elements.
export function s(tag, attrs, ...children) {
  const el = setAttributes(document.createElementNS(SVG_NS, tag), attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// ---- CSV ----------------------------------------------------------------------------------------

// One field quoted per RFC 4180 when it needs to be (as the server does).
export function csvField(value) {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

export function csvText(header, rows) {
  return [header, ...rows].map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

// A UTF-8 byte order mark first, so that spreadsheet programs read accents (Lucía, Jerónimo) right.
const BOM = new Uint8Array([0xef, 0xbb, 0xbf]);

// True when `data` (text or bytes) already starts with the byte order mark (the server's CSV does).
function startsWithBom(data) {
  if (typeof data === 'string') return data.startsWith('\uFEFF');
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

// Saves `data` (text or bytes) as a file called `filename` through the browser's downloads.
export function saveFile(filename, data, type = 'text/csv;charset=utf-8') {
  const blob = new Blob(startsWithBom(data) ? [data] : [BOM, data], {type});
  const url = URL.createObjectURL(blob);
  const a = h('a', {href: url, download: filename, class: 'visually-hidden'});
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
