/**
 * Raw TCP WebSocket peers for relay tests: they speak hand-written bytes (handshake heads and
 * frames from test/helpers/frames.ts) and record exactly what they receive, so a test can assert
 * on the bytes the far side of the proxy saw, chunk boundaries aside.
 *
 * Nothing here validates what it receives: that is the point. Every wait is bounded.
 */
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { parseChunks, type ParsedFrame } from './frames.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CRLFCRLF = Buffer.from('\r\n\r\n');

/** §4.2.2 accept value, computed here independently of src/protocol. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export function newKey(): string {
  return randomBytes(16).toString('base64');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something other than undefined/false; throws after `ms`. */
export async function until<T>(check: () => T | undefined | false | null, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

export interface RequestOptions {
  readonly path?: string;
  readonly host?: string;
  readonly key?: string;
  /** Extra header lines, written as given (name and value exactly as in the tuple). */
  readonly headers?: readonly (readonly [string, string])[];
}

/** A client handshake head, byte for byte as the test wants it. */
export function requestHead(options: RequestOptions = {}): { readonly head: Buffer; readonly key: string } {
  const key = options.key ?? newKey();
  const lines = [
    `GET ${options.path ?? '/'} HTTP/1.1`,
    `Host: ${options.host ?? 'example.test:80'}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...(options.headers ?? []).map(([n, v]) => `${n}: ${v}`),
  ];
  return { head: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), key };
}

/** A 101 answer for `key`, with extra header lines as given. */
export function switchingHead(key: string, extra: readonly (readonly [string, string])[] = []): Buffer {
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptFor(key)}`, ...extra.map(([n, v]) => `${n}: ${v}`)];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Header lines of a head as [name, value] (value trimmed of OWS), for assertions. */
export function headerLines(head: Buffer): [string, string][] {
  return head
    .toString('latin1')
    .split('\r\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i), l.slice(i + 1).trim()];
    });
}

export function headerValue(head: Buffer, name: string): string | undefined {
  return headerLines(head).find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** Every connection made or accepted here, so a test's teardown can cut what a failure left open. */
const live = new Set<RawConnection>();

/** Destroys every raw connection still open (call from teardown). */
export function destroyAllRaw(): void {
  for (const c of live) c.destroy();
  live.clear();
}

/**
 * One TCP connection, recording every byte it receives. The first bytes up to CRLF CRLF are the
 * peer's handshake head (request or response); everything after it is `after`.
 */
export class RawConnection {
  readonly socket: net.Socket;
  /** Which peer this end plays: a 'client' receives server frames and vice versa. */
  readonly role: 'client' | 'server';
  readonly chunks: Buffer[] = [];
  ended = false;
  closed = false;
  error: Error | null = null;

  constructor(socket: net.Socket, role: 'client' | 'server') {
    this.socket = socket;
    this.role = role;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    socket.on('end', () => (this.ended = true));
    live.add(this);
    socket.on('close', () => {
      this.closed = true;
      live.delete(this);
    });
    socket.on('error', (e) => (this.error = e));
  }

  /** Everything received so far. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** The peer's head (through CRLF CRLF), or null while incomplete. */
  get head(): Buffer | null {
    const all = this.received;
    const end = all.indexOf(CRLFCRLF);
    return end === -1 ? null : all.subarray(0, end + 4);
  }

  /** Bytes after the head (all bytes when `noHead`). */
  after(noHead = false): Buffer {
    if (noHead) return this.received;
    const head = this.head;
    return head === null ? Buffer.alloc(0) : this.received.subarray(head.length);
  }

  /** Frames received after the head, parsed as the other peer's frames. */
  frames(rsv1Allowed = false): ParsedFrame[] {
    return parseChunks([this.after()], { from: this.role === 'client' ? 'server' : 'client', rsv1Allowed }).frames;
  }

  completeFrames(rsv1Allowed = false): ParsedFrame[] {
    return this.frames(rsv1Allowed).filter((f) => f.complete);
  }

  write(bytes: Uint8Array | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  /** One byte per write, with a pause between writes so each leaves as its own segment. */
  async trickle(bytes: Uint8Array, pauseMs = 1): Promise<void> {
    for (let i = 0; i < bytes.length; i++) {
      await this.write(bytes.subarray(i, i + 1));
      await sleep(pauseMs);
    }
  }

  waitHead(ms = 3000): Promise<Buffer> {
    return until(() => this.head, ms, `the ${this.role === 'client' ? 'response' : 'request'} head`);
  }

  /** Waits until at least `n` complete frames arrived after the head. */
  waitFrames(n: number, ms = 3000, rsv1Allowed = false): Promise<ParsedFrame[]> {
    return until(() => {
      const frames = this.completeFrames(rsv1Allowed);
      return frames.length >= n ? frames : undefined;
    }, ms, `${n} frame(s) at the ${this.role}`);
  }

  waitBytes(n: number, ms = 3000): Promise<Buffer> {
    return until(() => (this.received.length >= n ? this.received : undefined), ms, `${n} bytes at the ${this.role}`);
  }

  /** Waits for the peer's FIN (or the socket closing). */
  waitEnd(ms = 3000): Promise<void> {
    return until(() => this.ended || this.closed, ms, `the ${this.role}'s connection to end`).then(() => undefined);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface RawServerOptions {
  /**
   * Called once the request head is complete; returns the bytes to answer with (default: a plain
   * 101 for the request's key), or null to answer nothing.
   */
  readonly respond?: (request: Buffer, connection: RawConnection) => Buffer | null;
}

/** A raw WebSocket target on 127.0.0.1:0. */
export class RawServer {
  readonly server: net.Server;
  readonly connections: RawConnection[] = [];
  readonly #options: RawServerOptions;

  private constructor(options: RawServerOptions) {
    this.#options = options;
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
  }

  static async start(options: RawServerOptions = {}): Promise<RawServer> {
    const s = new RawServer(options);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  #accept(socket: net.Socket): void {
    const conn = new RawConnection(socket, 'server');
    this.connections.push(conn);
    let answered = false;
    socket.on('data', () => {
      if (answered) return;
      const head = conn.head;
      if (head === null) return;
      answered = true;
      const respond = this.#options.respond ?? ((request) => switchingHead(headerValue(request, 'sec-websocket-key') ?? ''));
      const answer = respond(head, conn);
      if (answer !== null) socket.write(answer);
    });
  }

  /** The n-th accepted connection (0-based), once its request head is complete. */
  async connection(n = 0, ms = 3000): Promise<RawConnection> {
    const conn = await until(() => this.connections[n], ms, `connection ${n} at the raw server`);
    await conn.waitHead(ms);
    return conn;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback port nothing listens on (bound once, then released). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Opens a TCP connection to the proxy (nothing written yet). */
export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return new RawConnection(socket, 'client');
}

/** Connects and completes a handshake (head, plus optional first bytes in the same write). */
export async function rawHandshake(port: number, options: RequestOptions & { readonly firstBytes?: Buffer } = {}): Promise<{ client: RawConnection; key: string; head: Buffer }> {
  const client = await rawConnect(port);
  const { head, key } = requestHead(options);
  await client.write(options.firstBytes === undefined ? head : Buffer.concat([head, options.firstBytes]));
  await client.waitHead();
  return { client, key, head };
}
