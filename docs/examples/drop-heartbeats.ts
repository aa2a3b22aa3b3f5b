/**
 * Drop heartbeats: ping frames (both directions) and application-level heartbeat messages such
 * as `{"type":"heartbeat"}`, `{"op":"ping"}` or the text `ping`, to see how each side copes
 * when its keep-alives go unanswered. Counts are logged when the session closes.
 *
 *   wsproxy --listen 9000 --target localhost:12345 --script docs/examples/drop-heartbeats.ts
 */
import { defineScript } from 'wsproxy';

const HEARTBEAT_TEXT = new Set(['ping', 'pong', 'heartbeat', 'hb']);
const HEARTBEAT_TYPES = new Set(['ping', 'pong', 'heartbeat', 'keepalive', 'keep-alive']);

function isHeartbeat(text: string, data: any): boolean {
  if (HEARTBEAT_TEXT.has(text.trim().toLowerCase())) return true;
  if (data === null || typeof data !== 'object') return false;
  const type = data.type ?? data.op ?? data.event;
  return typeof type === 'string' && HEARTBEAT_TYPES.has(type.toLowerCase());
}

export default defineScript({
  initState: () => ({ frames: 0, messages: 0 }),

  // Control frames are decided in onFrame: drop every ping (its pong never comes).
  onFrame(frame, ctx) {
    if (frame.kind === 'ping') {
      ctx.state.frames++;
      return ctx.drop();
    }
  },

  onMessage(msg, ctx) {
    if (msg.kind === 'text' && isHeartbeat(msg.text, msg.json())) {
      ctx.state.messages++;
      return ctx.drop();
    }
  },

  onClose(session, _info, ctx) {
    ctx.log(`session ${session.id}: dropped ${ctx.state.frames} ping frames and ${ctx.state.messages} heartbeat messages`);
  },
});
