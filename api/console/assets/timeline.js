// For reviewers: an account's (or one user's) history, who / when / what from what to what / why,
// a page at a time through the history cursor.
import { get, query, enc } from './api.js';
import { h, when } from './dom.js';

const page_size = 100;

export function timeline_view(root, ctx, user) {
  const path = user ? `/v1/users/${enc(user.id)}/history` : `/v1/accounts/${enc(ctx.account)}/history`;
  const tbody = h('tbody', { id: 'timeline-rows' });
  const more = h('button', { type: 'button', id: 'timeline-more', class: 'ghost', hidden: true }, 'Older…');
  const err = h('p', { class: 'error', role: 'alert' });
  const empty = h('p', { class: 'empty', hidden: true }, 'Nothing has happened here yet.');
  let cursor = '';
  let closed = false;
  root.replaceChildren(
    h('h1', { id: 'timeline-title' }, user ? `Timeline of ${user.name}` : `Timeline of ${ctx.account}`),
    h('p', { class: 'muted' }, 'Every change, as recorded in the tamper-evident log, oldest first.'),
    err,
    h('table', { class: 'timeline' }, h('caption', { class: 'sr' }, 'History'),
      h('thead', {}, h('tr', {}, ['#', 'When', 'Who', 'What', 'Before → after', 'Why'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody),
    empty, more);

  async function load() {
    let r;
    try { r = await get(`${path}${query({ limit: page_size, cursor })}`); } catch (e) {
      if (e.status === 403) return ctx.deny(e.message);
      err.textContent = `The history could not be loaded: ${e.message}`;
      return;
    }
    if (closed) return;
    const { events, next_cursor } = r.body;
    tbody.append(...events.map(row));
    empty.hidden = tbody.children.length > 0;
    cursor = next_cursor || '';
    more.hidden = !next_cursor;
  }
  more.addEventListener('click', load);
  load();
  return { close() { closed = true; } };
}

function row(e) {
  const d = e.data || {};
  const who = e.actor.name ? `${e.actor.name} <${e.actor.email}>` : e.actor.principal;
  const subject = (e.labels || []).find((l) => l.user === d.user);
  return h('tr', { 'data-type': e.type },
    h('td', {}, String(e.position)),
    h('td', {}, h('time', { datetime: e.recorded_at }, when(e.recorded_at))),
    h('td', {}, who),
    h('td', {}, e.type.replaceAll('_', ' '), subject ? ` · ${subject.name}` : ''),
    h('td', { class: 'change' }, change(d)),
    h('td', {}, e.reason || ''));
}

// "before → after" of the facts the event changed, in words.
function change(d) {
  if (!d.before && !d.after) return '';
  const fmt = (v) => v === null || v === undefined ? '—' : typeof v === 'object' ? Object.entries(v).map(([k, x]) =>
    `${k}: ${Array.isArray(x) ? x.join(', ') || 'none' : typeof x === 'object' && x !== null ? fmt(x) : x ?? '—'}`).join('; ') || 'none' : String(v);
  const keys = new Set([...Object.keys(d.before || {}), ...Object.keys(d.after || {})]);
  return [...keys].map((k) => `${k}: ${fmt((d.before || {})[k])} → ${fmt((d.after || {})[k])}`).join(' | ');
}
