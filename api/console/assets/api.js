// The API client of the console: same origin, the token in a header, problems as values.
const key = 'roster.token';

export const session = {
  get token() { return sessionStorage.getItem(key) || ''; },
  set token(t) { t ? sessionStorage.setItem(key, t) : sessionStorage.removeItem(key); },
};

// A failed call: the problem document (RFC 9457) when the server sent one.
export class api_error extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || '';
  }
}

// Calls the API; resolves to {body, etag, status} or rejects with api_error.
export async function call(method, path, { body, headers = {} } = {}) {
  const h = { ...headers, Authorization: `Bearer ${session.token}` };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new api_error(0, { detail: 'The server cannot be reached.', code: 'network' });
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!res.ok) throw new api_error(res.status, json);
  return { body: json, etag: res.headers.get('ETag'), status: res.status, as_of: res.headers.get('Roster-As-Of') };
}

export const get = (path) => call('GET', path);
export const post = (path, body, headers) => call('POST', path, { body, headers });

// Builds a query string, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
