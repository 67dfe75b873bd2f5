// For reviewers (operator, auditor): the hash chain verified end to end, the latest signed
// checkpoint as the server signed it, and an account's evidence pack to take away and check offline.
import { get, download, query, enc, api_error } from './api.js';
import { h, toast } from './dom.js';

export function audit_view(root, ctx) {
  const verify_out = h('dl', { id: 'verify-result', class: 'facts', 'aria-live': 'polite' });
  const verify_btn = h('button', { type: 'button', id: 'verify-run', class: 'ghost' }, 'Verify again');
  const checkpoint = h('pre', { id: 'checkpoint', class: 'note' });
  const checkpoint_err = h('p', { id: 'checkpoint-state', class: 'muted' });
  const since = h('input', { id: 'ev-since', type: 'datetime-local', step: '1' });
  const until = h('input', { id: 'ev-until', type: 'datetime-local', step: '1' });
  const dl_btn = h('button', { type: 'submit', id: 'ev-download' }, 'Download evidence pack');
  const dl_out = h('p', { id: 'ev-result', 'aria-live': 'polite' });
  const dl_err = h('p', { id: 'ev-error', class: 'error', role: 'alert' });
  let closed = false;

  root.replaceChildren(
    h('h1', { id: 'audit-title' }, 'Audit'),
    h('p', { class: 'muted' }, 'What a reviewer can check without trusting this server: the chain, the signed checkpoints, and evidence packs verified offline with rosterctl verify-pack or the pack’s verify.py.'),
    h('div', { class: 'grid2' },
      h('section', { class: 'card', 'aria-labelledby': 'verify-title' },
        h('div', { class: 'head' }, h('h2', { id: 'verify-title' }, 'Hash chain'), verify_btn), verify_out),
      h('section', { class: 'card', 'aria-labelledby': 'checkpoint-title' },
        h('h2', { id: 'checkpoint-title' }, 'Latest signed checkpoint'), checkpoint_err, checkpoint)),
    h('section', { class: 'card', 'aria-labelledby': 'ev-title' },
      h('h2', { id: 'ev-title' }, `Evidence pack · ${ctx.account}`),
      h('form', { id: 'ev-form', class: 'inline-form' },
        h('label', { for: 'ev-since' }, 'From (optional, your local time)'), since,
        h('label', { for: 'ev-until' }, 'Until, exclusive (optional)'), until, dl_btn),
      dl_out, dl_err));

  async function verify() {
    verify_btn.disabled = true;
    verify_out.replaceChildren(h('dt', {}, 'Status'), h('dd', {}, 'verifying…'));
    try {
      const v = (await get('/v1/audit/verify')).body;
      if (closed) return;
      const rows = [
        ['Status', h('span', { id: 'verify-ok', class: v.ok ? 'badge' : 'badge locked', 'data-ok': String(v.ok) },
          v.ok ? 'chain intact' : `broken at position ${v.first_bad_position}`)],
        ['Events checked', h('span', { id: 'verify-checked' }, String(v.checked))],
        ['Head position', String(v.head_position)],
        ['Head hash', h('code', { class: 'hash' }, v.head_hash || '—')],
      ];
      verify_out.replaceChildren(...rows.flatMap(([k, val]) => [h('dt', {}, k), h('dd', {}, val)]));
    } catch (e) {
      if (ctx.refused(e)) return;
      verify_out.replaceChildren(h('dt', {}, 'Status'), h('dd', { class: 'error' }, `Could not verify: ${e.message}`));
    } finally { verify_btn.disabled = false; }
  }

  async function load_checkpoint() {
    try {
      const r = await get('/v1/audit/checkpoint');
      if (closed) return;
      // A C2SP signed note: origin, tree size, root, extensions, a blank line, signatures.
      const lines = r.text.split('\n');
      const size = Number(lines[1]);
      const ts = (lines.find((l) => l.startsWith('timestamp ')) || '').slice(10);
      checkpoint_err.textContent = `Tree of ${size} events, signed ${ts ? new Date(Number(ts) / 1000).toLocaleString() : 'at an unknown time'}.`;
      checkpoint.textContent = r.text;
      checkpoint.dataset.size = String(size);
    } catch (e) {
      if (e instanceof api_error && e.status === 404) {
        checkpoint_err.textContent = 'No checkpoint is signed yet: the first one comes when the log grows.';
        checkpoint.textContent = '';
      } else if (!ctx.refused(e)) checkpoint_err.textContent = `Could not load the checkpoint: ${e.message}`;
    }
  }

  // datetime-local is in the reader's time zone; the API wants RFC 3339.
  const rfc3339 = (v) => (v ? new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z') : '');

  root.querySelector('#ev-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    dl_err.textContent = '';
    dl_out.textContent = 'Preparing the pack…';
    dl_btn.disabled = true;
    const path = `/v1/audit/evidence${query({ account: ctx.account, since: rfc3339(since.value), until: rfc3339(until.value) })}`;
    try {
      const { blob } = await download(path, '');
      // Named after the account, so packs of several accounts do not overwrite each other.
      const filename = `roster-evidence-${ctx.account}.tar`;
      // The token rides in the fetch; the browser saves the bytes through a short-lived object URL.
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: filename, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      dl_out.textContent = `${filename} (${(blob.size / 1024).toFixed(1)} KB) saved. Check it offline: rosterctl verify-pack ${filename} --public-key <pinned key>`;
      dl_out.dataset.bytes = String(blob.size);
      dl_out.dataset.filename = filename;
      toast('Evidence pack downloaded.');
    } catch (e) {
      dl_out.textContent = '';
      if (!ctx.refused(e)) dl_err.textContent = e.status === 503 ? `${e.message} Try again in a few seconds.` : e.message;
    } finally { dl_btn.disabled = false; }
  });
  verify_btn.addEventListener('click', verify);
  verify();
  load_checkpoint();
  return { close() { closed = true; } };
}
