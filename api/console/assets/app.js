// The console shell: sign-in, the account picker and the views. Plain ES modules: the whole app is
// a few kilobytes, loads with no build step and nothing from another origin.
import { session, get, api_error } from './api.js';
import { $, h } from './dom.js';
import { users_view } from './users.js';
import { timeline_view } from './timeline.js';
import { contacts_view } from './contacts.js';
import { audit_view } from './audit.js';
import { accept_form } from './accept.js';

const state = { me: null, account: null, view: 'users', current: null };
window.roster_console = state;  // for the browser tests and for poking at from DevTools

function show(id) {
  $('#accept').hidden = id !== 'signin';
  for (const s of ['signin', 'denied', 'users-view', 'contacts-view', 'timeline-view', 'audit-view']) $(`#${s}`).hidden = s !== id;
}

const not_member = 'You are not a member of an Account';

function deny(message) {
  if (state.current) state.current.close();
  state.current = null;
  $('#denied-message').textContent = message;
  // A user who is a member elsewhere gets a way back to the accounts they do belong to.
  $('#denied-home').hidden = !(message === not_member && state.me && state.me.accounts.length);
  show('denied');
}

// A view's refusal: 403 is the seed's "no access"; for a user, an account the API hides (404) is one
// they are not (or no longer) a member of, which the seed words its own way.
function refused(e) {
  if (!(e instanceof api_error)) return false;
  if (e.status === 403) { deny(e.message); return true; }
  if (e.status === 404 && e.code === 'account_not_found' && state.me && state.me.user) { deny(not_member); return true; }
  if (e.status === 401) { deny('Your token is no longer valid (revoked, or your user was locked or removed). Sign out and sign in again.'); return true; }
  return false;
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
  $('#nav').hidden = true;
  if (!accounts.length) return deny(state.me.user ? not_member : 'There are no accounts yet.');
  // A link naming an account (#account=…) that this user is not a member of is answered as the
  // seed does, not silently swapped for another account.
  const wanted = new URLSearchParams(location.hash.slice(1)).get('account');
  if (wanted && !accounts.includes(wanted))
    return deny(state.me.user ? not_member : `There is no account “${wanted}”.`);
  const picker = $('#account-picker');
  picker.replaceChildren(...accounts.map((a) => h('option', { value: a }, a)));
  state.account = wanted || accounts[0];
  picker.value = state.account;
  $('#audit-nav').hidden = !!state.me.user;
  $('#nav').hidden = false;
  // An auditor reads; the audit view is where their work starts. It is not a user's view.
  if (p.auditor && state.view === 'users') state.view = 'audit';
  if (state.me.user && state.view === 'audit') state.view = 'users';
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
  const ctx = { account: state.account, me: state.me, deny, refused, open_timeline };
  state.current = view === 'users' ? users_view(section, ctx)
    : view === 'contacts' ? contacts_view(section, ctx)
    : view === 'audit' ? audit_view(section, ctx) : timeline_view(section, ctx, state.timeline_user);
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
$('#denied-home').addEventListener('click', () => {
  history.replaceState(null, '', location.pathname);
  sign_in(session.token);
});
$('#sign-out').addEventListener('click', () => {
  session.token = '';
  if (state.current) state.current.close();
  state.current = null;
  state.me = null;
  $('#nav').hidden = true;
  $('#sign-out').hidden = true;
  $('#live-state').hidden = true;
  $('#who').textContent = '';
  show('signin');
  $('#token').focus();
});
$('#account-picker').addEventListener('change', (ev) => {
  state.account = ev.target.value;
  // The chosen account goes in the fragment (never the token), so a link or a reload keeps it.
  history.replaceState(null, '', `#account=${encodeURIComponent(state.account)}`);
  open_view(state.view);
});
for (const b of document.querySelectorAll('#nav [data-view]')) b.addEventListener('click', () => open_view(b.dataset.view));

accept_form();
if (session.token) sign_in(session.token);
else { show('signin'); $('#token').focus(); }
