/**
 * The real binary's terminal UI under tmux, as a person would use it: a real ws server behind
 * the proxy and a real ws client in front, keys sent with `send-keys`, the screen read with
 * `capture-pane`. Checks that frames appear, `/` narrows them, intercept holds a message until
 * `a`, an edited message arrives edited at the server, and `s` delivers a frame to the client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import { sleep, tmuxSkipReason, tmuxTui } from '../helpers/tmux.js';

const { start, display, capture, keys, type, until, kill } = tmuxTui({ socket: `wsproxy-e2e-${process.pid}`, cols: 150, rows: 40 });

/** The frame log rows (lines with a time stamp and a direction). */
function frameRows(screen: string): string[] {
  return screen.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d{3} #\d+ +(C→S|S→C) /.test(l));
}

interface Target {
  readonly port: number;
  readonly received: string[];
  close(): Promise<void>;
}

/** A plain ws server: records what it gets and answers each text message with "ack:" + it. */
async function startTarget(): Promise<Target> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const received: string[] = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const text = String(data);
      received.push(text);
      ws.send(`ack:${text}`);
    });
  });
  return {
    port: (wss.address() as { port: number }).port,
    received,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

describe('wsproxy TUI under tmux', { timeout: 120_000 }, () => {
  let target: Target | null = null;
  let client: WebSocket | null = null;
  const got: string[] = [];
  let closeCode: number | null = null;
  const skip = tmuxSkipReason();

  before(async () => {
    if (skip !== null) return;
    target = await startTarget();
    start(`--listen 127.0.0.1:0 --target 127.0.0.1:${target.port}`);
  });

  after(async () => {
    client?.terminate();
    kill();
    await target?.close();
  });

  it('shows frames, filters, holds, edits and injects through the real relay', async (t) => {
    if (skip !== null) {
      t.skip(skip);
      return;
    }
    // The status bar names the port the proxy got.
    const port = await until('the TUI status bar (does the CLI start the TUI on a terminal?)', () => /wsproxy │ 127\.0\.0\.1:(\d+) →/.exec(capture())?.[1]);
    client = new WebSocket(`ws://127.0.0.1:${port}/e2e`, { perMessageDeflate: false });
    client.on('message', (data) => got.push(String(data)));
    client.on('close', (code) => (closeCode = code));
    await new Promise<void>((resolve, reject) => {
      client!.once('open', () => resolve());
      client!.once('error', reject);
    });

    // Frames appear, both directions.
    client.send('alpha');
    client.send('beta');
    await until('frames in the log', () => {
      const rows = frameRows(capture());
      return rows.some((r) => r.includes('C→S text') && r.includes('"alpha"')) && rows.some((r) => r.includes('S→C text') && r.includes('"ack:beta"'));
    });
    assert.match(capture(), /#1 +127\.0\.0\.1:\d+ +\/e2e +open/);

    // `/` narrows the log to what matches; Enter keeps it; the status bar shows it.
    keys('/');
    type('from:server beta');
    keys('Enter');
    await until('the filter to apply', () => {
      const rows = frameRows(capture());
      return rows.length === 1 && rows[0]!.includes('"ack:beta"') && capture().includes('filter: from:server beta');
    });
    keys('/', 'C-u', 'Enter');
    await until('the filter to clear', () => frameRows(capture()).length >= 4);

    // Intercept holds a message until `a`.
    keys('i');
    await until('intercept on', () => capture().includes('intercept ON'));
    client.send('gamma');
    await until('the held message', () => capture().includes('⏸ 1 held'));
    await sleep(300);
    assert.ok(!target!.received.includes('gamma'), 'the server must not have it while it is held');
    keys('a');
    await until('the server to get gamma', () => target!.received.includes('gamma'));
    // The server's answer is held too (intercept holds both directions); let it through.
    await until('the held answer', () => capture().includes('⏸ 1 held'));
    keys('a');
    await until('the client to get the answer', () => got.includes('ack:gamma'));

    // An edited message arrives edited.
    client.send('delta');
    await until('delta to be held', () => capture().includes('⏸ 1 held') && capture().includes('"delta"'));
    keys('e');
    await until('the editor', () => capture().includes('Edit held message'));
    keys('End');
    type('-edited');
    keys('C-s');
    await until('the edited message at the server', () => target!.received.includes('delta-edited'));
    assert.ok(!target!.received.includes('delta'), 'the original never arrived');
    await until('the log to mark it', () => capture().includes('[mod] "delta-edited"'));
    keys('i');
    await until('intercept off, answers forwarded', () => capture().includes('intercept off') && got.includes('ack:delta-edited'));

    // `s` injects a frame into the session, to the client.
    keys('s');
    await until('the send form', () => capture().includes('Send into session #1'));
    if (!capture().includes('[ to client ]')) keys('Right');
    await until('direction: to client', () => capture().includes('[ to client ]'));
    keys('Tab', 'Tab');
    type('hello from the proxy');
    keys('C-s');
    await until('the client to get the injected frame', () => got.includes('hello from the proxy'));
    await until('the log to mark it', () => capture().includes('[inj] "hello from the proxy"'));

    // `q` asks (a session is open), `y` closes it with 1001 and exits.
    keys('q');
    await until('the quit question', () => capture().includes('Quit? 1 open session'));
    keys('y');
    await until('the client to be closed with 1001', () => closeCode === 1001);
    await until('the program to exit', () => display('#{pane_dead}') === '1');
    assert.ok(!capture().includes('Time         Sess'), 'the normal screen is back');
  });
});
