/**
 * The load generator's WebSocket client on a raw socket: a real handshake (Sec-WebSocket-Accept
 * checked), hand-built masked frames, and a streaming parser, so the client costs far less CPU
 * than any proxy it measures.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { FrameParser, OP_CLOSE, acceptFor, clientFrame, type FrameHandler } from './ws-frames.js';

/** Data that came back wrong: the run must fail, never just look fast. */
export class IntegrityError extends Error {
  override name = 'IntegrityError';
}

const open = new Set<net.Socket>();

/** Destroys every client socket still open (after a failed or timed-out measurement). */
export function destroyAllClients(): void {
  for (const s of open) s.destroy();
  open.clear();
}

const ignore: FrameHandler = { header() {}, payload() {}, end() {} };

export class WsClient {
  /** Receives the frames; workloads swap it. */
  handler: FrameHandler = ignore;
  /**
   * When set, receives every read as it came instead of the frame parser (precomputed streams):
   * buf[0, n). With a read buffer (see connect) buf is that buffer, reused by the next read.
   */
  raw: ((buf: Buffer, n: number) => void) | null = null;
  /** Called after each chunk read has been parsed: the place to batch the next writes. */
  afterData: () => void = () => {};
  /** Called once if the connection fails or closes before close() was asked for. */
  onFail: (err: Error) => void = () => {};
  private closing = false;
  private failed = false;

  private readonly parser: FrameParser;

  private constructor(
    readonly socket: net.Socket,
    private readonly reusedReads: boolean,
  ) {
    this.parser = new FrameParser({
      header: (fin, op, len, key, rsv1) => this.handler.header(fin, op, len, key, rsv1),
      payload: (buf, s, e, off) => this.handler.payload(buf, s, e, off),
      end: () => this.handler.end(),
    });
    if (!reusedReads) socket.on('data', (chunk: Buffer) => this.read(chunk, chunk.length));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => {
      open.delete(socket);
      this.fail(new Error('connection closed by peer'));
    });
  }

  /** One read, buf[0, n). */
  private read(buf: Buffer, n: number): void {
    // Handlers throw IntegrityError on bad data; that fails this connection's workload.
    try {
      if (this.raw !== null) return this.raw(buf, n);
      // The parser hands out views of its chunks (WholeFrames keeps them): never of a reused buffer.
      this.parser.push(this.reusedReads ? Buffer.from(buf.subarray(0, n)) : n === buf.length ? buf : buf.subarray(0, n));
      this.afterData();
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  fail(err: Error): void {
    if (this.closing || this.failed) return;
    this.failed = true;
    this.onFail(err);
    this.socket.destroy();
  }

  /**
   * Connects and completes the opening handshake; leftover bytes go to the frame parser.
   * `extensions`: offered in Sec-WebSocket-Extensions; the answer must accept the same one.
   * `readBuffer`: every read lands in this one buffer and goes straight to the client (net's
   * `onread`), with no stream and no allocation per read: for loops that consume each read at
   * once (`raw`). Without it, reads are 'data' events of fresh buffers.
   */
  static connect(port: number, path: string, timeoutMs = 15_000, extensions?: string, readBuffer?: Buffer): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      // Until the handshake is done, reads go to onData (copied: the read buffer is reused).
      let deliver = (buf: Buffer, n: number): void => onData(Buffer.from(buf.subarray(0, n)));
      const onread = readBuffer && {
        buffer: readBuffer,
        callback: (n: number, buf: Buffer): boolean => {
          deliver(buf, n);
          return true;
        },
      };
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true, ...(onread ? { onread } : {}) });
      open.add(socket);
      const key = randomBytes(16).toString('base64');
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => done(new Error(`handshake timed out after ${timeoutMs} ms`)), timeoutMs);
      const done = (err: Error | null): void => {
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.removeListener('error', done);
        socket.removeListener('close', onClose);
        if (err) {
          socket.destroy();
          open.delete(socket);
          return reject(err);
        }
        const rest = head.subarray(head.indexOf('\r\n\r\n') + 4);
        const client = new WsClient(socket, readBuffer !== undefined);
        deliver = (buf, n) => client.read(buf, n);
        resolve(client);
        // After the awaiting workload has installed its handler.
        if (rest.length > 0) queueMicrotask(() => client.read(rest, rest.length));
      };
      const onClose = (): void => done(new Error('closed during handshake'));
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 16384) done(new Error('handshake response too large'));
          return;
        }
        const lines = head.subarray(0, end).toString('latin1').split('\r\n');
        if (!/^HTTP\/1\.1 101 /.test(lines[0] ?? '')) return done(new Error(`handshake refused: ${lines[0]}`));
        const accept = lines.find((l) => l.toLowerCase().startsWith('sec-websocket-accept:'));
        if (accept?.slice(accept.indexOf(':') + 1).trim() !== acceptFor(key)) {
          return done(new IntegrityError('bad Sec-WebSocket-Accept'));
        }
        if (extensions !== undefined) {
          const ext = lines.find((l) => l.toLowerCase().startsWith('sec-websocket-extensions:'));
          if (ext?.slice(ext.indexOf(':') + 1).trim() !== extensions) return done(new Error(`extension ${extensions} not accepted: ${ext ?? 'no Sec-WebSocket-Extensions'}`));
        }
        done(null);
      };
      if (!onread) socket.on('data', onData);
      socket.once('error', done);
      socket.once('close', onClose);
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (extensions === undefined ? '' : `Sec-WebSocket-Extensions: ${extensions}\r\n`) +
          '\r\n',
      );
    });
  }

  /** Writes, resolving when the socket can take more (backpressure). */
  async write(buf: Buffer): Promise<void> {
    if (this.socket.write(buf)) return;
    await new Promise<void>((resolve, reject) => {
      const ok = (): void => {
        this.socket.off('close', gone);
        resolve();
      };
      const gone = (): void => {
        this.socket.off('drain', ok);
        reject(new Error('connection closed while writing'));
      };
      this.socket.once('drain', ok);
      this.socket.once('close', gone);
    });
  }

  /** Close handshake, then the socket; bounded so a proxy that never answers cannot hang the run. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    this.handler = ignore;
    if (this.socket.destroyed) return;
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    const status = Buffer.from([0x03, 0xe8]); // 1000 normal closure
    this.socket.write(clientFrame(OP_CLOSE, status, 0x5a5a5a5a));
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    // The server sends its close frame and ends; we end too once it has.
    this.socket.once('end', () => this.socket.end());
    await closed;
    clearTimeout(timer);
  }
}

/** What differs between the expected and the received payload, printable. */
export function mismatch(op: number, expected: Buffer, got: Buffer): string {
  if (got.length !== expected.length) return `opcode ${op}, ${got.length} bytes instead of ${expected.length}`;
  let i = 0;
  while (i < got.length && got[i] === expected[i]) i++;
  return `opcode ${op}, byte ${i} is 0x${got[i]?.toString(16) ?? '??'} instead of 0x${expected[i]?.toString(16) ?? '??'}`;
}

/** Collects frames whole (zero-copy when a frame sits inside one read). */
export class WholeFrames implements FrameHandler {
  private op = 0;
  private len = 0;
  private parts: Buffer[] = [];

  constructor(private readonly onFrame: (opcode: number, payload: Buffer) => void) {}

  header(_fin: boolean, opcode: number, len: number, key: number | null): void {
    if (key !== null) throw new IntegrityError('server frame is masked');
    this.op = opcode;
    this.len = len;
    this.parts = [];
  }

  payload(buf: Buffer, start: number, end: number): void {
    this.parts.push(buf.subarray(start, end));
  }

  end(): void {
    const p = this.parts;
    const payload = p.length === 1 ? p[0]! : p.length === 0 ? Buffer.alloc(0) : Buffer.concat(p, this.len);
    this.parts = [];
    this.onFrame(this.op, payload);
  }
}
