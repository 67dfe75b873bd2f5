// Key contacts: who holds each contact role of the account, saved at once (If-Match: the version
// read), with the contact-health warnings the server computes.
import { call, get, enc, api_error } from './api.js';
import { h, toast } from './dom.js';

export function contacts_view(root, ctx) {
  const base = `/v1/accounts/${enc(ctx.account)}`;
  const form = h('form', { id: 'contacts-form' });
  const warnings = h('ul', { id: 'contact-warnings', class: 'warnings', 'aria-live': 'polite' });
  const err = h('p', { class: 'error', role: 'alert', id: 'contacts-error' });
  let version = null;
  let closed = false;
  root.replaceChildren(h('h1', { id: 'contacts-title' }, `Key contacts · ${ctx.account}`),
    h('p', { class: 'muted' }, 'Contacts must be active members holding the roles their contact role requires.'),
    h('h2', {}, 'Health'), warnings, form, err);

  async function load() {
    let c, members;
    try {
      [c, members] = await Promise.all([get(`${base}/contacts`),
        get(`${base}/users?status=active,locked&limit=500`)]);
    } catch (e) {
      if (e instanceof api_error && e.status === 403) return ctx.deny(e.message);
      err.textContent = `The contacts could not be loaded: ${e.message}`;
      return;
    }
    if (closed) return;
    version = c.body.version;
    show_warnings(c.body.warnings);
    const users = members.body.users;
    const rows = Object.entries(c.body.contacts).map(([role, holder]) => {
      const id = `contact-${role}`;
      const sel = h('select', { id, 'data-role': role }, h('option', { value: '' }, '— nobody —'),
        users.map((u) => h('option', { value: u.id, selected: holder && holder.id === u.id }, `${u.name} <${u.email}>`)));
      return h('tr', {}, h('th', { scope: 'row' }, h('label', { for: id }, role.replaceAll('_', ' '))), h('td', {}, sel));
    });
    form.replaceChildren(h('table', { class: 'contacts' }, h('caption', { class: 'sr' }, 'Contact roles'), h('tbody', {}, rows)),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'contacts-save' }, 'Save contacts')));
  }

  function show_warnings(list) {
    warnings.replaceChildren(...(list.length ? list.map((w) => h('li', { 'data-code': w.code }, w.message))
      : [h('li', { class: 'ok' }, 'No warnings: every required contact is set.')]));
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const body = {};
    for (const s of form.querySelectorAll('select[data-role]')) body[s.dataset.role] = s.value || null;
    try {
      const r = await call('PUT', `${base}/contacts`, { body, headers: { 'If-Match': `"${version}"` } });
      version = r.body.version;
      show_warnings(r.body.warnings);
      toast('Contacts saved.');
    } catch (e) {
      if (e.status === 412) { err.textContent = 'Someone changed the account meanwhile; the contacts are reloaded, nothing was saved.'; return load(); }
      const b = (e.problem.blockers || []).map((x) => `${x.user} needs ${JSON.stringify(x.roles || {})}`).join('; ');
      err.textContent = b ? `${e.message} (${b})` : e.message;
    }
  });
  load();
  return { close() { closed = true; } };
}
