// Manage users: the list (search, filters, "show inactive", cursor pages, as_of), creation, the
// user panel (roles per portal, the Active Login switch, re-invite, removal) and the live feed.
import { call, get, post, query, enc, api_error } from './api.js';
import { $, h, toast, roles_text, roles_picker, roles_of, portals, when } from './dom.js';
import { live_stream } from './live.js';

const page_size = 50;
const feed_max = 50;  // the activity feed keeps the newest events only

export function users_view(root, ctx) {
  const a = ctx.account;
  const base = `/v1/accounts/${enc(a)}`;
  // An auditor reads everything and changes nothing: the page offers no change it would refuse.
  const read_only = !!(ctx.me && ctx.me.principal && ctx.me.principal.auditor);
  const st = { cursor: '', cursors: [], as_of: null, head: 0, stream: null, refresh_timer: 0, closed: false };

  const search = h('input', { id: 'q', type: 'search', placeholder: 'Name or email', 'aria-label': 'Search users' });
  const portal = h('select', { id: 'f-portal', 'aria-label': 'Portal' }, h('option', { value: '' }, 'All portals'),
    Object.keys(portals).map((p) => h('option', { value: p }, p)));
  const role = h('select', { id: 'f-role', 'aria-label': 'Role' }, h('option', { value: '' }, 'Any role'),
    Object.entries(portals).flatMap(([p, rs]) => rs.map((r) => h('option', { value: `${p}:${r}` }, `${p}: ${r}`))));
  const status = h('select', { id: 'f-status', 'aria-label': 'Status' }, h('option', { value: '' }, 'Active'),
    h('option', { value: 'locked' }, 'Locked'), h('option', { value: 'removed' }, 'Removed'));
  const type = h('select', { id: 'f-type', 'aria-label': 'Membership type' }, h('option', { value: '' }, 'All types'),
    h('option', { value: 'employee' }, 'Employees'), h('option', { value: 'third_party' }, 'Third parties'));
  const inactive = h('input', { id: 'f-inactive', type: 'checkbox', role: 'switch' });
  const counts = h('p', { id: 'counts', class: 'muted', 'aria-live': 'polite' });
  const stats = h('ul', { id: 'stats', class: 'stats', 'aria-label': 'Account counts' });
  const tbody = h('tbody', { id: 'user-rows' });
  const empty = h('p', { id: 'empty', class: 'empty', hidden: true });
  const list_error = h('p', { id: 'list-error', class: 'error', role: 'alert', hidden: true });
  const prev = h('button', { type: 'button', id: 'prev', class: 'ghost', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', id: 'next', class: 'ghost', disabled: true }, 'Next →');
  const slider = h('input', { id: 'as-of', type: 'range', min: '1', max: '1', value: '1', 'aria-describedby': 'as-of-label' });
  const slider_label = h('span', { id: 'as-of-label' }, 'now');
  const now_btn = h('button', { type: 'button', id: 'as-of-now', class: 'ghost', disabled: true }, 'Back to now');
  const feed = h('ol', { id: 'feed', class: 'feed', 'aria-live': 'polite', 'aria-label': 'Activity' });
  const create_btn = h('button', { type: 'button', id: 'create-open', hidden: read_only }, 'Create user');

  root.replaceChildren(
    h('div', { class: 'head' }, h('h1', { id: 'users-title' }, `Manage users · ${a}`), create_btn),
    stats, counts,
    h('div', { class: 'filters', role: 'search' }, search, portal, role, status, type,
      h('label', { class: 'inline', for: 'f-inactive' }, inactive, ' Show inactive')),
    h('div', { class: 'asof' }, h('label', { for: 'as-of' }, 'View as of'), slider, slider_label, now_btn),
    h('div', { class: 'split' },
      h('div', { class: 'list' }, list_error,
        h('table', { class: 'users' }, h('caption', { class: 'sr' }, 'Users of the account'),
          h('thead', {}, h('tr', {}, ['Name', 'Email', 'Status', 'Registration', 'Roles', 'Type'].map((c) => h('th', { scope: 'col' }, c)))),
          tbody),
        empty, h('div', { class: 'pager' }, prev, next)),
      h('aside', { class: 'activity', 'aria-labelledby': 'feed-title' }, h('h2', { id: 'feed-title' }, 'Live activity'), feed)));

  function filters() {
    let s = status.value;
    if (!s && inactive.checked) s = 'active,locked';
    const rp = role.value;
    return { q: search.value.trim(), portal: portal.value, role: rp, status: s, type: type.value, limit: page_size,
      cursor: st.cursor, as_of: st.as_of };
  }

  async function load() {
    let r;
    try {
      r = await get(`${base}/users${query(filters())}`);
    } catch (e) {
      if (ctx.refused(e)) return;
      list_error.textContent = `The users could not be loaded: ${e.message}`;
      list_error.hidden = false;
      return;
    }
    if (st.closed) return;
    list_error.hidden = true;
    const { users, total, total_active, next_cursor } = r.body;
    tbody.replaceChildren(...users.map(row));
    counts.textContent = `${total} matching · ${total_active} active in the account` + (st.as_of ? ` · as of position ${st.as_of}` : '');
    root.dataset.total = total;
    empty.hidden = users.length > 0;
    empty.textContent = filters().q ? `No user matches “${filters().q}”.` : 'No users match these filters.';
    next.disabled = !next_cursor;
    next.dataset.cursor = next_cursor || '';
    prev.disabled = st.cursors.length === 0;
  }

  // The dashboard counts of /stats (O(1) on the server whatever the account's size), at the slider's
  // position when one is chosen.
  function show_stats(s) {
    const u = s.users, c = s.contacts;
    const item = (id, n, label, title, warn) =>
      h('li', { id: `stat-${id}`, 'data-count': String(n), title, class: warn ? 'warn' : null }, h('b', {}, String(n)), label);
    const portal_items = Object.entries(s.portals).map(([p, v]) => item(p, v.users, p,
      Object.entries(v.roles).map(([r, n]) => `${r}: ${n}`).join(', ')));
    const missing = c.required_roles_missing || [];
    stats.replaceChildren(
      item('active', u.active, 'active'), item('locked', u.locked, 'locked', '', u.locked > 0),
      item('invited', u.invited, 'invited'), item('registered', u.registered, 'registered'),
      item('not_invited', u.not_invited, 'not invited'), ...portal_items,
      item('contacts', c.required_roles_filled, `of ${c.required_roles_filled + missing.length} required contacts`,
        missing.length ? `missing: ${missing.join(', ')}` : 'all set', missing.length > 0));
    stats.dataset.position = String(s.position);
  }
  async function load_stats() {
    try {
      const s = (await get(`${base}/stats${query({ as_of: st.as_of })}`)).body;
      if (!st.closed) show_stats(s);
    } catch (e) { ctx.refused(e); }
  }

  function row(u) {
    const open = h('button', { type: 'button', class: 'link', 'data-user': u.id, onclick: () => panel(u.id) }, u.name);
    return h('tr', { 'data-user': u.id, 'data-status': u.status },
      h('td', {}, open), h('td', {}, u.email), h('td', {}, h('span', { class: `badge ${u.status}` }, u.status)),
      h('td', {}, u.registration.replace('_', ' ')), h('td', {}, roles_text(u.roles)), h('td', {}, u.type.replace('_', ' ')));
  }

  function restart() { st.cursor = ''; st.cursors = []; load(); }
  let search_timer = 0;
  search.addEventListener('input', () => { clearTimeout(search_timer); search_timer = setTimeout(restart, 200); });
  for (const el of [portal, role, status, type, inactive]) el.addEventListener('change', restart);
  next.addEventListener('click', () => { st.cursors.push(st.cursor); st.cursor = next.dataset.cursor; load(); });
  prev.addEventListener('click', () => { st.cursor = st.cursors.pop() || ''; load(); });

  // as_of: the slider walks log positions; the list is then read-only.
  slider.addEventListener('input', () => { slider_label.textContent = `position ${slider.value}`; });
  slider.addEventListener('change', () => {
    const v = Number(slider.value);
    st.as_of = v >= st.head ? null : v;
    slider_label.textContent = st.as_of ? `position ${v} of ${st.head}` : 'now';
    now_btn.disabled = !st.as_of;
    create_btn.disabled = !!st.as_of;
    restart();
    load_stats();
  });
  now_btn.addEventListener('click', () => { slider.value = String(st.head); slider.dispatchEvent(new Event('change')); });

  function set_head(p) {
    const at_head = Number(slider.value) >= st.head;
    st.head = Math.max(st.head, p);
    slider.max = String(st.head);
    if (at_head && !st.as_of) slider.value = String(st.head);
  }

  function on_event(e) {
    set_head(e.position);
    const who = e.actor && (e.actor.name || e.actor.principal);
    const label = (e.labels || []).find((l) => e.data && l.user === e.data.user);
    feed.prepend(h('li', { 'data-position': e.position },
      h('span', { class: 'what' }, e.type.replaceAll('_', ' ')), label ? ` · ${label.name}` : '',
      h('span', { class: 'muted' }, ` by ${who || 'system'} · ${when(e.recorded_at)}`),
      e.reason ? h('span', { class: 'why' }, ` — “${e.reason}”`) : ''));
    while (feed.children.length > feed_max) feed.lastChild.remove();
    // One reload per burst of events, not one per event.
    if (!st.as_of) { clearTimeout(st.refresh_timer); st.refresh_timer = setTimeout(() => { load(); load_stats(); }, 50); }
  }

  async function start() {
    try {
      const s = (await get(`${base}/stats`)).body;
      set_head(s.position);
      show_stats(s);
    } catch (e) {
      if (ctx.refused(e)) return;
    }
    await load();
    if (st.closed) return;
    const live = $('#live-state');
    live.hidden = false;
    st.stream = new live_stream(a, st.head + 1, on_event, (s) => { live.textContent = s === 'live' ? '● live' : `○ ${s}…`; live.dataset.state = s; },
      () => { if (!st.closed) { load(); load_stats(); } });
    window.roster_console.stream = st.stream;
  }

  // ---- creation ----
  create_btn.addEventListener('click', () => {
    const name = h('input', { id: 'c-name', required: true, maxlength: '200' });
    const email = h('input', { id: 'c-email', type: 'email', required: true });
    const invite = h('input', { id: 'c-invite', type: 'checkbox', checked: true });
    const picker = roles_picker({}, 'c-role');
    const err = h('p', { class: 'error', role: 'alert' });
    const result = h('div', { id: 'c-result' });
    const form = h('form', { method: 'dialog' },
      h('h2', { id: 'c-title' }, 'Create user'),
      h('label', { for: 'c-name' }, 'Name'), name, h('label', { for: 'c-email' }, 'Email'), email, picker,
      h('label', { class: 'inline', for: 'c-invite' }, invite, ' Send an invitation'), err, result,
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'ghost', onclick: () => dlg.close() }, 'Cancel'),
        h('button', { type: 'submit', id: 'c-submit' }, 'Create')));
    const dlg = modal(form, 'c-title');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      try {
        const r = await post(`${base}/users`, { name: name.value.trim(), email: email.value.trim(), roles: roles_of(picker), invite: invite.checked });
        const inv = r.body.invitation;
        toast(`${name.value.trim()} created.`);
        if (inv && inv.secret) {
          result.replaceChildren(h('p', {}, 'Invitation secret (shown once; send it to the user):'), h('code', { id: 'c-secret' }, inv.secret));
          form.querySelector('#c-submit').hidden = true;
        } else dlg.close();
        restart();
      } catch (e) { err.textContent = problem_text(e); }
    });
  });

  // ---- the user panel ----
  async function panel(uid) {
    let u;
    try { u = (await get(`${base}/users/${enc(uid)}${query({ as_of: st.as_of })}`)).body.user; } catch (e) { return toast(e.message); }
    const past = !!st.as_of || read_only;
    const picker = roles_picker(u.roles, 'p-role');
    const err = h('p', { class: 'error', role: 'alert', id: 'p-error' });
    const active = h('input', { id: 'p-active', type: 'checkbox', role: 'switch', checked: u.status === 'active', disabled: past || u.removed });
    const reason = h('input', { id: 'p-reason', placeholder: 'Why (recorded with the change)', 'aria-label': 'Reason for locking or unlocking' });
    const body = h('div', { class: 'panel' },
      h('h2', { id: 'p-title' }, u.name), h('p', { class: 'muted' }, `${u.email} · ${u.type.replace('_', ' ')} · ${u.registration.replace('_', ' ')}`),
      h('p', {}, 'Status: ', h('span', { id: 'p-status', class: `badge ${u.status}` }, u.status)),
      h('div', { class: 'switch' }, h('label', { for: 'p-active' }, active, ' Active Login'), reason),
      picker,
      h('div', { class: 'actions wrap' },
        h('button', { type: 'button', id: 'p-save-roles', disabled: past, onclick: save_roles }, 'Save roles'),
        h('button', { type: 'button', class: 'ghost', id: 'p-remove-roles', disabled: past, onclick: remove_roles }, 'Remove all roles'),
        h('button', { type: 'button', class: 'ghost', id: 'p-invite', disabled: past || u.registration === 'registered', onclick: reinvite }, 'Re-invite'),
        h('button', { type: 'button', class: 'ghost', id: 'p-timeline', onclick: () => { dlg.close(); ctx.open_timeline(u); } }, 'Timeline'),
        h('button', { type: 'button', class: 'danger', id: 'p-remove', disabled: past || u.removed, onclick: () => removal(u, dlg) }, 'Remove from account…')),
      err,
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'ghost', onclick: () => dlg.close() }, 'Close')));
    const dlg = modal(body, 'p-title', 'flyout');

    active.addEventListener('change', async () => {
      err.textContent = '';
      const want_active = active.checked;
      if (!reason.value.trim()) {
        active.checked = !want_active;
        err.textContent = 'Give a reason first: it is recorded with the change.';
        reason.focus();
        return;
      }
      try {
        await post(`/v1/users/${enc(u.id)}/${want_active ? 'unlock' : 'lock'}`, { reason: reason.value.trim() });
        u.status = want_active ? 'active' : 'locked';
        $('#p-status').textContent = u.status;
        $('#p-status').className = `badge ${u.status}`;
        reason.value = '';
        toast(`${u.name} ${want_active ? 'unlocked' : 'locked'}.`);
        load();
      } catch (e) { active.checked = !want_active; err.textContent = problem_text(e); }
    });

    async function save_roles() {
      err.textContent = '';
      const want = roles_of(picker), grant = {}, revoke = {};
      for (const p of Object.keys(portals)) {
        const had = new Set(u.roles[p] || []), has = new Set(want[p] || []);
        const g = [...has].filter((r) => !had.has(r)), rv = [...had].filter((r) => !has.has(r));
        if (g.length) grant[p] = g;
        if (rv.length) revoke[p] = rv;
      }
      if (!Object.keys(grant).length && !Object.keys(revoke).length) return toast('No change.');
      try {
        await post(`${base}/users/${enc(u.id)}/roles`, { grant, revoke });
        u.roles = want;
        toast('Roles saved.');
        load();
      } catch (e) { err.textContent = problem_text(e); }
    }
    async function remove_roles() {
      err.textContent = '';
      try { await call('DELETE', `${base}/users/${enc(u.id)}/roles`); toast('All roles removed.'); dlg.close(); load(); } catch (e) { err.textContent = problem_text(e); }
    }
    async function reinvite() {
      err.textContent = '';
      try {
        const r = await post(`${base}/users/${enc(u.id)}/invitation`, {});
        const s = r.body.invitation && r.body.invitation.secret;
        err.replaceChildren(h('span', { class: 'ok' }, 'Invitation issued. Secret (shown once): '), h('code', {}, s || '—'));
      } catch (e) { err.textContent = problem_text(e); }
    }
  }

  // ---- removal: the preview's exact impact, confirmed with its version as If-Match ----
  async function removal(u, panel_dlg) {
    const impact = h('div', { id: 'r-impact', 'aria-live': 'polite' });
    const err = h('p', { class: 'error', role: 'alert', id: 'r-error' });
    const confirm = h('button', { type: 'button', class: 'danger', id: 'r-confirm', disabled: true }, 'Remove');
    const body = h('div', {}, h('h2', { id: 'r-title' }, `Remove ${u.name} from ${a}?`), impact, err,
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'ghost', id: 'r-cancel', onclick: () => dlg.close() }, 'Cancel'), confirm));
    const dlg = modal(body, 'r-title');
    let version = null;

    async function preview() {
      confirm.disabled = true;
      try {
        const p = (await get(`${base}/users/${enc(u.id)}/removal`)).body;
        version = p.version;
        const revoked = Object.entries(p.roles_revoked || {});
        impact.replaceChildren(...[
          h('p', {}, 'This will:'),
          h('ul', {},
            h('li', {}, revoked.length ? `revoke ${roles_text(p.roles_revoked)}` : 'revoke no roles'),
            (p.accounts_removed_from || []).map((m) => h('li', {}, `remove the ${m.type.replace('_', ' ')} membership in ${m.account}` + (m.cascade ? ' (follows from the employer)' : ''))),
            p.profile_retired ? h('li', {}, 'retire the profile (no membership is left)') : null),
          (p.blockers || []).length ? h('p', { class: 'error' }, `Blocked: ${p.blockers.map((b) => `${b.user} holds ${(b.roles || []).join(', ')} in ${b.account}`).join('; ')}. Reassign those key contacts first.`) : null,
          (p.missing_portals || []).length ? h('p', { class: 'error' }, `You lack admin in: ${p.missing_portals.join(', ')}.`) : null,
          h('p', { class: 'muted' }, `Version ${p.version} of this user.`)].filter(Boolean));
        confirm.disabled = (p.blockers || []).length > 0 || (p.missing_portals || []).length > 0;
      } catch (e) { err.textContent = problem_text(e); }
    }
    confirm.addEventListener('click', async () => {
      err.textContent = '';
      try {
        await call('DELETE', `${base}/users/${enc(u.id)}`, { headers: { 'If-Match': `"${version}"` } });
        toast(`${u.name} removed from ${a}.`);
        dlg.close();
        panel_dlg.close();
        load();
      } catch (e) {
        if (e instanceof api_error && e.status === 412) {
          err.textContent = 'The account changed since this preview was shown, so nothing was removed. The impact below is refreshed: check it and confirm again.';
          await preview();
        } else err.textContent = problem_text(e);
      }
    });
    preview();
  }

  start();
  return {
    close() {
      st.closed = true;
      clearTimeout(st.refresh_timer);
      if (st.stream) st.stream.close();
      $('#live-state').hidden = true;
    },
  };
}

function problem_text(e) {
  const p = e.problem || {};
  if (p.code === 'missing_portal_admin' && p.missing_portals) return `${e.message} (${p.missing_portals.join(', ')})`;
  return e.message;
}

// A modal <dialog>: focus moves in, Escape closes, focus returns to where it was.
function modal(content, labelled_by, cls = '') {
  const back = document.activeElement;
  const dlg = h('dialog', { 'aria-labelledby': labelled_by, class: cls }, content);
  document.body.append(dlg);
  dlg.addEventListener('close', () => { dlg.remove(); if (back && back.isConnected) back.focus(); });
  dlg.showModal();
  return dlg;
}
