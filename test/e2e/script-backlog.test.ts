/**
 * A script whose onFrame is slower than the traffic: the frames are relayed at once (onFrame only
 * observes data frames), at most MAX_FRAMES_BEHIND of them wait for the script's thread, and the
 * ones it did not get are counted and said, not queued without end.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect, startLive, startTarget, until } from '../script/live.js';
import { MAX_FRAMES_BEHIND } from '../../src/script/script-worker.js';

const dir = mkdtempSync(join(tmpdir(), 'wsproxy-backlog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 1 ms per binary frame from the client; says how many it saw when asked. */
const SLOW = `export default {
  onFrame(frame) {
    if (frame.from !== 'client' || frame.kind !== 'binary') return;
    globalThis.seen = (globalThis.seen ?? 0) + 1;
    const end = Date.now() + 1;
    while (Date.now() < end) {}
  },
  onMessage(msg, ctx) {
    if (msg.kind === 'text' && msg.text === 'report') ctx.log('seen ' + (globalThis.seen ?? 0));
  },
};
`;

test('a slow onFrame gets at most MAX_FRAMES_BEHIND frames waiting; the frames it missed are counted and said', { timeout: 60_000 }, async () => {
  const file = join(dir, 'slow.mjs');
  writeFileSync(file, SLOW);
  // A sink: the target sends nothing, so every frame the script is given comes from the client.
  const target = await startTarget({}, () => undefined);
  const live = await startLive(target.port, { script: { path: file } });
  const n = 4000;
  try {
    const client = await connect(live.url);
    for (let i = 0; i < n; i++) client.ws.send(Buffer.alloc(16, i & 0xff));
    client.send('report');
    // Relayed at once, whatever the script's pace.
    await until(() => (target.peers[0]?.inbox.all.length ?? 0) === n + 1, 15_000, `the target receiving all ${n + 1} messages`);
    await until(() => live.logs.some((l) => /^seen \d+$/.test(l.text)), 30_000, "the script's count");
  } finally {
    await live.close();
    await target.close();
  }
  const seen = Number(/^seen (\d+)$/.exec(live.logs.find((l) => /^seen \d+$/.test(l.text))!.text)![1]);
  // Said once each time the script has caught up again (and at the end).
  const notes = live.logs.filter((l) => /onFrame missed \d+ frame/.test(l.text));
  assert.ok(notes.length > 0, `the missed frames are said: ${live.logText()}`);
  for (const note of notes) {
    assert.equal(note.level, 'warn');
    assert.match(note.text, new RegExp(`the script was ${MAX_FRAMES_BEHIND} frames behind`));
  }
  const missed = notes.reduce((sum, note) => sum + Number(/missed (\d+)/.exec(note.text)![1]), 0);
  assert.ok(seen < n && missed > 0, `seen ${seen}, missed ${missed}`);
  // Every binary frame was either given to the script or counted as missed (the "report" frame may be missed too).
  assert.ok(seen + missed === n || seen + missed === n + 1, `seen ${seen} + missed ${missed} against ${n}`);
});
