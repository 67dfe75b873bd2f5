// The live stream: a ticket asked with the token (a browser WebSocket cannot send a header), then
// /v1/stream?ticket=…&from=…. On a drop it reconnects with a fresh ticket from the position after
// the last event seen, so no event is lost or shown twice. A stream the server ends because the
// caller's access was withdrawn (close 4401/4403), or a ticket refused for the same reason, is not
// reconnected: on_withdrawn is told, and the view asks the API again, which says why.
import { post, query } from './api.js';

export class live_stream {
  constructor(account, from, on_event, on_state, on_withdrawn = () => {}) {
    this.account = account;
    this.next_from = from;
    this.on_event = on_event;
    this.on_state = on_state;
    this.on_withdrawn = on_withdrawn;
    this.closed = false;
    this.delay = 250;
    this.open();
  }

  async open() {
    if (this.closed) return;
    this.on_state('connecting');
    let ticket;
    try {
      ticket = (await post('/v1/stream/tickets', { account: this.account })).body.ticket;
    } catch (e) {
      if ([401, 403, 404].includes(e.status)) return this.withdrawn();
      return this.retry();
    }
    if (this.closed) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/v1/stream${query({ ticket, from: this.next_from, account: this.account })}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => { this.delay = 250; this.on_state('live'); };
    ws.onmessage = (m) => {
      let e;
      try { e = JSON.parse(m.data); } catch { return; }
      if (typeof e.position === 'number') {
        if (e.position < this.next_from) return;  // already seen (cannot happen, but cheap)
        this.next_from = e.position + 1;
      }
      this.on_event(e);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (ev.code === 4401 || ev.code === 4403) return this.withdrawn();
      this.retry();
    };
  }

  withdrawn() {
    if (this.closed) return;
    this.closed = true;
    this.on_state('closed');
    this.on_withdrawn();
  }

  retry() {
    if (this.closed) return;
    this.on_state('reconnecting');
    setTimeout(() => this.open(), this.delay);
    this.delay = Math.min(this.delay * 2, 5000);
  }

  // For tests and for the "reconnect" button: drop the socket as a network would.
  drop() { if (this.ws) this.ws.close(); }

  close() {
    this.closed = true;
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(); }
  }
}
