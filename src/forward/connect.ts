/**
 * Forward-proxy mode's CONNECT layer (RFC 9110 §9.3.6). The authority is dialled first, so a port
 * that refuses gets `502` rather than a tunnel to nowhere; then `200`, and the tunnel's first bytes
 * decide: a TLS ClientHello is intercepted (a leaf for its SNI, or the CONNECT host) and read as
 * HTTP/1.1 like the reverse mode; HTTP is read as it is; the HTTP/2 preface is answered; anything
 * else, and hosts matching --ignore-hosts, are relayed as opaque bytes with a log line. The
 * upstream is always the CONNECT authority (an SNI that differs is on the record beside it).
 */
import type net from 'node:net';
import type { ConnectionContext, Dialer, LayerDeps } from '../proxy/layers/context.js';
import { answerAndClose } from '../proxy/layers/http-io.js';
import type { Next, RequestLayer } from '../proxy/layers/http-reader.js';
import { tunnel } from '../proxy/layers/http-pass.js';
import { peekHead } from '../proxy/layers/peek-head.js';
import type { SocketReader } from '../proxy/layers/socket-reader.js';
import { dialTcp, formatTarget, type Target } from '../proxy/upstream.js';
import { parseClientHello } from '../tls/client-hello.js';
import type { TlsDialer } from '../tls/dialer.js';
import type { Resolver } from '../tls/resolve.js';
import { sniffFirstBytes } from '../tls/sniff.js';
import { serveTls, type ClientTlsSetup, type NextLayer } from '../tls/tls-layer.js';
import { H2C_TEXT, h2cRefusal } from './h2c.js';

export interface ForwardSetup {
  /** --ignore-hosts: matched on the CONNECT host and the SNI. */
  readonly ignoreHosts: readonly RegExp[];
  readonly dialer: TlsDialer;
  readonly resolve: Resolver;
  readonly clientTls: ClientTlsSetup;
}

/** host:port of a CONNECT request target (RFC 9110 §9.3.6: authority-form), IPv6 in brackets. */
export function parseAuthority(text: string): { readonly host: string; readonly port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]/@\s]+)):(\d{1,5})$/.exec(text);
  if (m === null || Number(m[3]) > 65535 || Number(m[3]) === 0) return null;
  return { host: (m[1] ?? m[2]!).toLowerCase(), port: Number(m[3]) };
}

export function connectLayer(deps: LayerDeps, setup: ForwardSetup, next: NextLayer): RequestLayer {
  return (request, reader, ctx) => connect(deps, setup, next, request.line.target, reader, ctx);
}

const ignored = (setup: ForwardSetup, host: string | null): boolean => host !== null && setup.ignoreHosts.some((r) => r.test(host));

async function connect(deps: LayerDeps, setup: ForwardSetup, next: NextLayer, authority: string, reader: SocketReader, ctx: ConnectionContext): Promise<Next> {
  const client = reader.socket;
  const where = parseAuthority(authority);
  if (where === null) {
    reader.detach();
    answerAndClose(client, 400, `CONNECT needs host:port, got "${authority}"`);
    return 'done';
  }
  const address = setup.resolve(where.host);
  const tcp = await dialTcp({ host: address, port: where.port, basePath: '' }, deps.settings.upstreamTimeoutMs);
  const name = formatTarget({ ...where, basePath: '' });
  if (!tcp.ok) {
    reader.detach();
    const reason = tcp.reason.replace(formatTarget({ host: address, port: where.port, basePath: '' }), name);
    deps.log(null, 'warn', `CONNECT ${name} from ${ctx.client}: ${reason}`);
    answerAndClose(client, tcp.status, reason);
    return 'done';
  }
  const server = tcp.socket;
  deps.track(server);
  client.once('close', () => {
    // A tunnel whose pre-dialled connection was never used must not keep it open.
    if (spare !== null) spare.destroy();
  });
  let spare: net.Socket | null = server;
  client.write('HTTP/1.1 200 Connection established\r\n\r\n');
  if (ignored(setup, where.host)) return opaque(deps, reader, server, `tunnel to ${name} relayed as opaque bytes (--ignore-hosts)`, () => (spare = null));

  const sniff = await sniffTunnel(reader, deps.settings.headTimeoutMs);
  if (sniff === null) {
    reader.detach();
    client.destroy();
    return 'done';
  }
  if (sniff === 'opaque') return opaque(deps, reader, server, `tunnel to ${name} carries neither TLS nor HTTP; relayed as opaque bytes, not decoded`, () => (spare = null));
  if (sniff === 'h2c') {
    deps.log(null, 'warn', `tunnel to ${name} opened with the HTTP/2 preface: ${H2C_TEXT}; answered GOAWAY HTTP_1_1_REQUIRED`);
    reader.detach();
    client.end(h2cRefusal());
    setTimeout(() => client.destroy(), 1000).unref();
    return 'done';
  }
  const secure = sniff === 'tls';
  if (secure) {
    const sni = await peekSni(reader, deps.settings.headTimeoutMs);
    if (ignored(setup, sni)) return opaque(deps, reader, server, `tunnel to ${name} (SNI ${sni}) relayed as opaque bytes (--ignore-hosts)`, () => (spare = null));
  }
  const upstream: Target = { host: where.host, port: where.port, basePath: '', tls: secure };
  // The first request goes over the connection dialled for the CONNECT; later ones dial afresh.
  const dial: Dialer = (target, timeoutMs) => {
    const s = spare;
    spare = null;
    if (s !== null && !s.destroyed && s.readyState === 'open') return setup.dialer.over(s, target, timeoutMs);
    s?.destroy();
    return setup.dialer.dial(target, timeoutMs);
  };
  const tunnelCtx: ConnectionContext = { ...ctx, mode: 'forward', upstream, dial };
  if (secure) await serveTls(reader, tunnelCtx, deps, setup.clientTls, [where.host], next);
  else await next(client, reader.detach(), tunnelCtx);
  return 'done';
}

/** What the tunnel starts with; null when the client left (or said nothing in time). */
async function sniffTunnel(reader: SocketReader, timeoutMs: number): Promise<'tls' | 'http' | 'h2c' | 'opaque' | null> {
  const head = await peekHead(reader, timeoutMs, (bytes) => {
    const kind = sniffFirstBytes(bytes);
    return kind === 'incomplete' ? undefined : kind;
  });
  if (head.decided) return head.value;
  return head.seen === 0 ? null : 'opaque';
}

/** The SNI of the ClientHello at the head of the reader, left in place. */
async function peekSni(reader: SocketReader, timeoutMs: number): Promise<string | null> {
  const head = await peekHead(reader, timeoutMs, (bytes) => {
    const hello = parseClientHello(bytes);
    return hello.state === 'incomplete' ? undefined : hello.state === 'ok' ? hello.sni : null;
  });
  return head.decided ? head.value : null;
}

/** Relays the tunnel as bytes both ways, nothing decoded, and says so once. */
function opaque(deps: LayerDeps, reader: SocketReader, server: net.Socket, text: string, claim: () => void): Next {
  claim();
  deps.log(null, 'info', text);
  const client = reader.socket;
  const rest = reader.detach();
  if (rest.length > 0) server.write(rest);
  tunnel(client, server);
  return 'done';
}
