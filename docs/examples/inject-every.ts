/**
 * Inject a message every N seconds: each client gets `{"type":"injected","n":1,...}` every
 * INJECT_EVERY_MS milliseconds (default 5000) for as long as its session is open. The server
 * never sent these; the UI and the log show them as injected.
 *
 *   INJECT_EVERY_MS=1000 wsproxy --listen 9000 --target localhost:12345 --script docs/examples/inject-every.ts
 */
import { defineScript } from 'wsproxy';

const EVERY_MS = Number(process.env['INJECT_EVERY_MS'] ?? 5000);

export default defineScript({
  initState: () => ({ sent: 0 }),

  onOpen(session, ctx) {
    ctx.log(`injecting into session ${session.id} every ${EVERY_MS} ms`);
    // ctx.setInterval stops by itself when the session closes.
    ctx.setInterval(() => {
      ctx.state.sent++;
      ctx.send({ to: 'client', json: { type: 'injected', n: ctx.state.sent, at: new Date().toISOString() } });
    }, EVERY_MS);
  },
});
