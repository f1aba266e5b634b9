// The server's API as the dashboard uses it: sign-in, the bearer token, JSON queries and CSV
// downloads. The token lives in sessionStorage (gone when the tab closes); the device id that
// identifies this browser to the server lives in localStorage (kept, like a phone's).

import {saveFile} from './dom.js';

const SESSION_KEY = 'vinculo.session';
const DEVICE_KEY = 'vinculo.deviceId';

export class ApiError extends Error {
  // status: the HTTP status (0 when the server could not be reached); code: the ErrorResponse
  // code ("unauthenticated", "not_found", ...); field: the parameter it is about, if any.
  constructor(status, code, message, field) {
    super(message || code || String(status));
    this.status = status;
    this.code = code || (status === 0 ? 'network' : 'other');
    this.field = field || '';
  }
}

// Called with no argument when the server no longer accepts the token.
let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(handler) {
  onUnauthenticated = handler;
}

export function deviceId() {
  let id = null;
  try {
    id = localStorage.getItem(DEVICE_KEY);
  } catch (e) {
    // Storage disabled: a new id each sign-in.
  }
  if (!id) {
    id = crypto.randomUUID();
    try {
      localStorage.setItem(DEVICE_KEY, id);
    } catch (e) {
      // As above.
    }
  }
  return id;
}

// {token, username, role, region} or null.
export function session() {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch (e) {
    return null;
  }
}

// Forgets the session here, and asks the server to void its token (best effort: signing out works
// offline too).
export function signOut() {
  const s = session();
  sessionStorage.removeItem(SESSION_KEY);
  if (s && s.token) {
    fetch('/v1/logout', {method: 'POST', headers: {'Authorization': 'Bearer ' + s.token}})
        .catch(() => {});
  }
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    // Not JSON (a proxy's page, say): the status says enough.
  }
  return new ApiError(response.status, body && body.code, body && body.message, body && body.field);
}

async function send(path, init) {
  try {
    return await fetch(path, {...init, cache: 'no-store', credentials: 'omit'});
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
}

// POST /v1/login. Stores and returns the session.
export async function signIn(username, password) {
  const response = await send('/v1/login', {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
    body: JSON.stringify({username, password, deviceId: deviceId()}),
  });
  if (!response.ok) throw await errorOf(response);
  const reply = await response.json();
  const s = {token: reply.token, username: reply.username, role: reply.role, region: reply.region};
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  return s;
}

function authorized(headers) {
  const s = session();
  if (!s) {
    onUnauthenticated();
    throw new ApiError(401, 'unauthenticated', 'not signed in');
  }
  return {...headers, 'Authorization': 'Bearer ' + s.token};
}

async function checked(response) {
  if (response.ok) return response;
  const error = await errorOf(response);
  if (response.status === 401) {
    signOut();
    onUnauthenticated();
  }
  throw error;
}

// `path` with `params` (an object; empty values left out) as its query string.
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') q.set(name, String(value));
  }
  const text = q.toString();
  return text ? path + (path.includes('?') ? '&' : '?') + text : path;
}

// GET `path` as JSON.
export async function get(path, params) {
  const response = await send(withQuery(path, params), {
    headers: authorized({'Accept': 'application/json'}),
  });
  return (await checked(response)).json();
}

// POST `body` as JSON to `path`; the reply as JSON.
export async function post(path, body) {
  const response = await send(path, {
    method: 'POST',
    headers: authorized({'Content-Type': 'application/json', 'Accept': 'application/json'}),
    body: JSON.stringify(body),
  });
  return (await checked(response)).json();
}

// Fetches `path` with ?format=csv and the bearer token (a plain link cannot carry the
// Authorization header) and saves it as `filename`. With `allPages`, follows the reply's
// X-Next-Page header (?after=) to the last page and saves every row under one header.
export async function downloadCsv(path, params, filename, allPages = false) {
  const parts = [];
  let after = '';
  do {
    const response = await send(withQuery(path, {...params, after, format: 'csv'}), {
      headers: authorized({'Accept': 'text/csv'}),
    });
    const bytes = new Uint8Array(await (await checked(response)).arrayBuffer());
    // After the first page, only the rows: the byte order mark and the header line go.
    parts.push(parts.length === 0 ? bytes : bytes.subarray(afterFirstLine(bytes)));
    after = allPages ? response.headers.get('X-Next-Page') || '' : '';
  } while (after);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  saveFile(filename, all);
}

// The index just past the first CRLF (a header line holds no quoted line break).
function afterFirstLine(bytes) {
  for (let i = 0; i + 1 < bytes.length; ++i) {
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) return i + 2;
  }
  return bytes.length;
}
