/**
 * A message recorder: every message in both directions, and each session's open and close, is
 * appended to a JSONL file (RECORD_FILE, default ./wsproxy-recording.jsonl), one object per line.
 * Text is stored as text, binary as base64. Messages are forwarded unchanged.
 *
 *   RECORD_FILE=/tmp/session.jsonl wsproxy --listen 9000 --target localhost:12345 --script docs/examples/recorder.ts
 */
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { defineScript } from 'wsproxy';

const file = resolve(process.env['RECORD_FILE'] ?? 'wsproxy-recording.jsonl');
const out = createWriteStream(file, { flags: 'a' });

function record(entry: Record<string, unknown>): void {
  out.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

export default defineScript({
  onOpen(session, ctx) {
    ctx.log(`recording session ${session.id} to ${file}`);
    record({ event: 'open', session: session.id, client: session.client, path: session.path, protocol: session.protocol, extensions: session.extensions });
  },

  onMessage(msg) {
    record({
      event: 'message',
      session: msg.session.id,
      id: msg.id,
      from: msg.from,
      kind: msg.kind,
      ...(msg.kind === 'text' ? { text: msg.text } : { base64: msg.data.toString('base64') }),
    });
    // Nothing returned: the message goes on unchanged.
  },

  onClose(session, info) {
    record({ event: 'close', session: session.id, code: info.code, reason: info.reason, by: info.by, clean: info.clean });
  },

  // A hot reload or the proxy stopping: flush and close the file.
  onUnload() {
    return new Promise<void>((done) => out.end(done));
  },
});
