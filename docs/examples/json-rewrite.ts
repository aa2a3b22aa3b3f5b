/**
 * JSON field rewrite: every JSON message from the server that has a `role` field (at the top
 * level or in `user`) reaches the client with `role: "admin"`. Other messages, and JSON without
 * the field, go through untouched, in their original frames.
 *
 *   wsproxy --listen 9000 --target localhost:12345 --script docs/examples/json-rewrite.ts
 */
import { defineScript } from 'wsproxy';

const FIELD = 'role';
const VALUE = 'admin';

export default defineScript({
  onMessage(msg, ctx) {
    if (msg.from !== 'server' || msg.kind !== 'text') return; // forward unchanged
    const data = msg.json();
    if (data === null || typeof data !== 'object') return; // not JSON (or not an object)

    const holder = FIELD in data ? data : data.user !== null && typeof data.user === 'object' && FIELD in data.user ? data.user : null;
    if (holder === null || holder[FIELD] === VALUE) return;

    ctx.log(`${FIELD}: ${JSON.stringify(holder[FIELD])} → ${JSON.stringify(VALUE)}`);
    holder[FIELD] = VALUE;
    return JSON.stringify(data);
  },
});
