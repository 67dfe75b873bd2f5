// Key contacts: the contact roles with the access role each requires, who holds them (saved at
// once, If-Match: the version read), the contact-health warnings, the holder's own hand-over, and
// the notifications watchlist.
import { call, get, post, enc, api_error } from './api.js';
import { h, toast } from './dom.js';

// SPEC §1 "Key contacts": the access role each contact role requires, and the ones an account must have.
const requires = {
  primary_customer_admin: 'support:admin', primary_partner_contact: 'support:admin',
  primary_business: 'support:contributor', secondary_business: 'support:contributor',
  primary_support: 'support:contributor', secondary_support: 'support:contributor',
  primary_technical: 'support:contributor', secondary_technical: 'support:contributor',
  security: 'support:contributor',
};
const must_have = new Set(['primary_customer_admin', 'primary_partner_contact', 'primary_support', 'secondary_support', 'security']);
const topics = ['outage', 'maintenance', 'security', 'release'];

// Whether a member may hold a contact role: active and holding its access role (admin satisfies
// the lesser roles of its portal).
function eligible(u, role) {
  if (u.status !== 'active') return false;
  const [portal, need] = (requires[role] || 'support:contributor').split(':');
  const held = (u.roles || {})[portal] || [];
  return held.includes('admin') || held.includes(need);
}

export function contacts_view(root, ctx) {
  const base = `/v1/accounts/${enc(ctx.account)}`;
  const me = ctx.me && ctx.me.user ? ctx.me.user.id : null;
  const read_only = !!(ctx.me && ctx.me.principal && ctx.me.principal.auditor);
  const form = h('form', { id: 'contacts-form' });
  const warnings = h('ul', { id: 'contact-warnings', class: 'warnings', 'aria-live': 'polite' });
  const err = h('p', { class: 'error', role: 'alert', id: 'contacts-error' });
  const watch = h('form', { id: 'watchlist-form' });
  const watch_err = h('p', { class: 'error', role: 'alert', id: 'watchlist-error' });
  let version = null;
  let watch_version = null;
  let users = [];
  let closed = false;
  root.replaceChildren(h('h1', { id: 'contacts-title' }, `Key contacts · ${ctx.account}`),
    h('p', { class: 'muted' }, 'Contacts must be active members holding the access role their contact role requires. Required roles must always be filled.'),
    h('h2', {}, 'Health'), warnings, form, err,
    h('h2', { id: 'watchlist-title' }, 'Notifications watchlist'),
    h('p', { class: 'muted' }, 'Members who receive notifications of a topic, besides the key contacts (all of them get outages; security contacts get security notices).'),
    watch, watch_err);

  const name_of = (id) => { const u = users.find((x) => x.id === id); return u ? `${u.name} <${u.email}>` : id; };

  async function load() {
    let c, members, w;
    try {
      [c, members, w] = await Promise.all([get(`${base}/contacts`),
        get(`${base}/users?status=active,locked&limit=500`), get(`${base}/watchlist`)]);
    } catch (e) {
      if (ctx.refused(e)) return;
      err.textContent = `The contacts could not be loaded: ${e.message}`;
      return;
    }
    if (closed) return;
    users = members.body.users;
    show_contacts(c.body);
    show_watchlist(w.body);
  }

  function show_contacts(body) {
    version = body.version;
    show_warnings(body.warnings);
    const rows = Object.entries(body.contacts).map(([role, holder]) => {
      const id = `contact-${role}`;
      const sel = h('select', { id, 'data-role': role }, h('option', { value: '' }, '— nobody —'),
        users.map((u) => {
          const held = holder && holder.id === u.id;
          return h('option', { value: u.id, selected: held, disabled: !held && !eligible(u, role) }, `${u.name} <${u.email}>`);
        }));
      const required = must_have.has(role);
      const state = required ? (holder ? h('span', { class: 'badge' }, 'required · set') : h('span', { class: 'badge locked' }, 'required · missing')) : h('span', { class: 'muted' }, 'optional');
      const handover = holder && me && holder.id === me
        ? h('button', { type: 'button', class: 'ghost', id: `handover-${role}`, onclick: () => hand_over(role) }, 'Hand over…') : '';
      return h('tr', { 'data-role': role }, h('th', { scope: 'row' }, h('label', { for: id }, role.replaceAll('_', ' '))),
        h('td', {}, requires[role] || ''), h('td', {}, sel), h('td', {}, state), h('td', {}, handover));
    });
    form.replaceChildren(h('table', { class: 'contacts', id: 'contacts-table' }, h('caption', { class: 'sr' }, 'Contact roles'),
      h('thead', {}, h('tr', {}, ['Contact role', 'Requires', 'Holder', 'Required', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'contacts-save', hidden: read_only }, 'Save contacts')));
  }

  function show_warnings(list) {
    warnings.replaceChildren(...(list.length ? list.map((w) => h('li', { 'data-code': w.code }, w.message))
      : [h('li', { class: 'ok' }, 'No warnings: every required contact is set.')]));
  }

  // The holder's own way out: hand the role to another eligible member, no admin rights needed.
  function hand_over(role) {
    const row = form.querySelector(`tr[data-role='${role}']`);
    const to = h('select', { id: `handover-to-${role}`, 'aria-label': `Hand ${role.replaceAll('_', ' ')} over to` },
      users.filter((u) => u.id !== me && eligible(u, role)).map((u) => h('option', { value: u.id }, `${u.name} <${u.email}>`)));
    const go = h('button', { type: 'button', id: `handover-confirm-${role}` }, 'Hand over');
    row.lastChild.replaceChildren(to, go);
    to.focus();
    go.addEventListener('click', async () => {
      err.textContent = '';
      try {
        const r = await post(`${base}/contacts/${enc(role)}/handover`, { to_user_id: to.value });
        show_contacts(r.body);
        watch_version = r.body.version;  // our own change: the watchlist read is still current
        toast(`${role.replaceAll('_', ' ')} handed over to ${name_of(to.value)}.`);
      } catch (e) { err.textContent = e.message; }
    });
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const body = {};
    for (const s of form.querySelectorAll('select[data-role]')) body[s.dataset.role] = s.value || null;
    try {
      const r = await call('PUT', `${base}/contacts`, { body, headers: { 'If-Match': `"${version}"` } });
      show_contacts(r.body);
      watch_version = r.body.version;  // our own change: the watchlist read is still current
      toast('Contacts saved.');
    } catch (e) {
      if (e.status === 412) { err.textContent = 'Someone changed the account meanwhile; the contacts are reloaded, nothing was saved.'; return load(); }
      const b = (e.problem.blockers || []).map((x) => `${x.user} needs ${JSON.stringify(x.roles || {})}`).join('; ');
      err.textContent = b ? `${e.message} (${b})` : e.message;
    }
  });

  // ---- the watchlist: one row per subscribed member, a switch per topic ----
  function show_watchlist(body) {
    watch_version = body.version;
    const subs = new Map(body.subscriptions.map((s) => [s.user_id, new Set(s.topics)]));
    const tbody = h('tbody', { id: 'watchlist-rows' });
    const add_row = (uid, set) => {
      tbody.append(h('tr', { 'data-user': uid }, h('th', { scope: 'row' }, name_of(uid)),
        topics.map((t) => h('td', {}, h('input', { type: 'checkbox', 'data-topic': t, checked: set.has(t),
          'aria-label': `${name_of(uid)}: ${t}` })))));
    };
    for (const [uid, set] of subs) add_row(uid, set);
    const candidates = users.filter((u) => u.status === 'active' && !subs.has(u.id));
    const pick = h('select', { id: 'watch-add', 'aria-label': 'Member to add to the watchlist' },
      h('option', { value: '' }, 'Add a member…'), candidates.map((u) => h('option', { value: u.id }, `${u.name} <${u.email}>`)));
    pick.addEventListener('change', () => {
      if (!pick.value) return;
      add_row(pick.value, new Set());
      pick.querySelector(`option[value='${pick.value}']`).remove();
      pick.value = '';
    });
    watch.replaceChildren(
      h('table', { class: 'contacts watchlist' }, h('caption', { class: 'sr' }, 'Watchlist subscriptions'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Member'), topics.map((t) => h('th', { scope: 'col' }, t)))), tbody),
      body.subscriptions.length ? '' : h('p', { class: 'muted', id: 'watch-empty' }, 'Nobody subscribed yet.'),
      h('div', { class: 'actions' }, pick, h('button', { type: 'submit', id: 'watchlist-save', hidden: read_only }, 'Save watchlist')));
  }

  watch.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    watch_err.textContent = '';
    const subscriptions = [...watch.querySelectorAll('#watchlist-rows tr')].map((tr) => ({
      user_id: tr.dataset.user,
      topics: [...tr.querySelectorAll('input[data-topic]:checked')].map((i) => i.dataset.topic),
    })).filter((s) => s.topics.length);
    try {
      const r = await call('PUT', `${base}/watchlist`, { body: { subscriptions }, headers: { 'If-Match': `"${watch_version}"` } });
      show_watchlist(r.body);
      version = r.body.version;  // likewise for the contacts read
      toast('Watchlist saved.');
    } catch (e) {
      if (e instanceof api_error && e.status === 412) { watch_err.textContent = 'Someone changed the account meanwhile; reloaded, nothing was saved.'; return load(); }
      watch_err.textContent = e.message;
    }
  });

  load();
  return { close() { closed = true; } };
}
