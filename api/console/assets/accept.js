// Accepting an invitation: the secret is the credential (POST /v1/invitations/accept, no token), so
// the form sits beside the sign-in and works for someone who has no token yet.
import { call } from './api.js';
import { $ } from './dom.js';

export function accept_form() {
  const form = $('#accept-form');
  const out = $('#accept-result');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const secret = $('#invite-secret').value.trim();
    $('#invite-secret').value = '';  // a single-use secret: do not leave it in the page
    out.className = '';
    out.textContent = 'Accepting…';
    try {
      const r = await call('POST', '/v1/invitations/accept', { body: { secret }, anonymous: true });
      const u = (r.body && r.body.user) || {};
      out.className = 'ok';
      out.textContent = u.name ? `Welcome, ${u.name}: your registration is complete (${u.email}).` : 'Your registration is complete.';
    } catch (e) {
      out.className = 'error';
      out.textContent = e.status === 400 || e.status === 404 || e.status === 410
        ? `${e.message} Ask your administrator to invite you again.` : e.message;
    }
  });
}
