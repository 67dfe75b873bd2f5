// The console shell: sign-in, the account picker and the views. Plain ES modules: the whole app is
// a few kilobytes, loads with no build step and nothing from another origin.
import { session, get, api_error } from './api.js';
import { $, h } from './dom.js';
import { users_view } from './users.js';
import { timeline_view } from './timeline.js';
import { contacts_view } from './contacts.js';

const state = { me: null, account: null, view: 'users', current: null };
window.roster_console = state;  // for the browser tests and for poking at from DevTools

function show(id) {
  for (const s of ['signin', 'denied', 'users-view', 'contacts-view', 'timeline-view']) $(`#${s}`).hidden = s !== id;
}

function deny(message) {
  $('#denied-message').textContent = message;
  show('denied');
}

async function sign_in(token) {
  session.token = token;
  try {
    state.me = (await get('/v1/me')).body;
  } catch (e) {
    session.token = '';
    const msg = e instanceof api_error && e.status === 401 ? 'This token is not valid (expired, revoked or mistyped).' : e.message;
    $('#signin-error').textContent = msg;
    show('signin');
    $('#token').focus();
    return;
  }
  $('#signin-error').textContent = '';
  const p = state.me.principal || {};
  $('#who').textContent = state.me.user ? `${state.me.user.name} <${state.me.user.email}>`
    : p.operator ? 'operator' : p.auditor ? 'auditor' : p.service ? `service ${p.service}` : 'signed in';
  $('#sign-out').hidden = false;
  let accounts = state.me.accounts.map((a) => a.id);
  if (!state.me.user) {
    // Operators and auditors belong to no account: they pick among all of them.
    try {
      accounts = (await get('/v1/accounts?limit=500')).body.accounts.map((a) => a.id);
    } catch (e) {
      return deny(e.message);
    }
  }
  if (!accounts.length) {
    return deny(state.me.user ? 'You are not a member of an Account' : 'There are no accounts yet.');
  }
  const picker = $('#account-picker');
  picker.replaceChildren(...accounts.map((a) => h('option', { value: a }, a)));
  const wanted = new URLSearchParams(location.hash.slice(1)).get('account');
  state.account = accounts.includes(wanted) ? wanted : accounts[0];
  picker.value = state.account;
  $('#nav').hidden = false;
  open_view(state.view);
}

function open_view(view) {
  state.view = view;
  if (state.current) state.current.close();
  for (const b of document.querySelectorAll('#nav [data-view]'))
    if (b.dataset.view === view) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  const section = $(`#${view}-view`);
  show(section.id);
  const ctx = { account: state.account, deny, open_timeline };
  state.current = view === 'users' ? users_view(section, ctx)
    : view === 'contacts' ? contacts_view(section, ctx) : timeline_view(section, ctx, state.timeline_user);
  state.timeline_user = null;
}

function open_timeline(user) {
  state.timeline_user = user || null;
  open_view('timeline');
}

$('#signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const t = $('#token').value.trim();
  $('#token').value = '';
  sign_in(t);
});
$('#sign-out').addEventListener('click', () => {
  session.token = '';
  if (state.current) state.current.close();
  state.current = null;
  $('#nav').hidden = true;
  $('#sign-out').hidden = true;
  $('#live-state').hidden = true;
  $('#who').textContent = '';
  show('signin');
  $('#token').focus();
});
$('#account-picker').addEventListener('change', (ev) => {
  state.account = ev.target.value;
  open_view(state.view);
});
for (const b of document.querySelectorAll('#nav [data-view]')) b.addEventListener('click', () => open_view(b.dataset.view));

if (session.token) sign_in(session.token);
else { show('signin'); $('#token').focus(); }
