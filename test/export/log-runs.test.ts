/**
 * A --log-file holding two runs of the proxy (the file is appended to, and session ids start at 1
 * again): reading it back keeps both runs' sessions apart, for `stats`, `har` and `replay` alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readLog } from '../../src/export/log-reader.js';
import { readRecording } from '../../src/export/recording.js';

const t = (s: number): string => new Date(Date.UTC(2026, 11, 5, 10, 0, s)).toISOString();

function run(start: number, name: string): object[] {
  return [
    { type: 'open', session: 1, time: t(start), client: '127.0.0.1:1', target: '127.0.0.1:2', path: `/${name}`, status: 101 },
    { type: 'message', id: 1, session: 1, time: t(start + 1), from: 'client', kind: 'text', length: name.length, payload: name, frames: 1, fate: 'forwarded' },
    { type: 'close', session: 1, time: t(start + 2), code: 1000, reason: '', by: 'client', clean: true },
  ];
}

test('two runs in one log: both sessions numbered 1 are kept, each with its own records', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-runs-'));
  try {
    const file = path.join(dir, 'log.jsonl');
    fs.writeFileSync(file, [...run(0, 'run1'), ...run(10, 'run2')].map((o) => JSON.stringify(o)).join('\n') + '\n');
    const sessions = await readLog(file);
    assert.deepEqual(
      sessions.map((s) => [s.session, s.path, s.messages.map((m) => m.payload.toString()), s.close?.code]),
      [
        [1, '/run1', ['run1'], 1000],
        [1, '/run2', ['run2'], 1000],
      ],
    );
    // replay reads the same way.
    assert.deepEqual((await readRecording(file)).map((r) => r.path), ['/run1', '/run2']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
