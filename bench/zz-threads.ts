import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEchoServer, startPeer } from './peers.js';
import { pipelinedEcho } from './workloads/messages.js';
import { installExitHandlers, killAll } from './children.js';
installExitHandlers();
function threads(pid: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const st = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    m.set(t, (Number(f[11]) + Number(f[12])) * 10);
  }
  return m;
}
const echo = await startEchoServer();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'zz-'));
for (let r = 0; r < 3; r++) {
const peer = await startPeer('wsproxy', echo.port, tmp, r);
await pipelinedEcho(peer.port, 20000, 100);
const before = threads(peer.pid!);
const t0 = Date.now();
await pipelinedEcho(peer.port, 200000, 100);
const dt = Date.now() - t0;
const after = threads(peer.pid!);
const rows: string[] = [];
for (const [k, v] of after) { const d = v - (before.get(k) ?? 0); if (d > 0) rows.push(`${Number(k) === peer.pid ? 'main' : k}:${d}`); }
console.log('msg/s', Math.round(200000 / dt * 1000), rows.join(' '));
await peer.stop();
}
killAll();
process.exit(0);
