/**
 * The request head as the target receives it: the client's head with only the rewrites asked
 * for (Host names the target unless --keep-host, the target's base path is prepended, and for an
 * upgrade --no-deflate strips permessage-deflate from the offer). Every other byte is kept.
 */
import { editHead, header, parseExtensions, type HeadEdit, type HttpHead } from '../../protocol/handshake.js';
import { withoutDeflate } from '../../protocol/deflate-params.js';
import { formatTarget, type Target } from '../upstream.js';
import type { ProxySettings } from './context.js';
import type { IncomingRequest } from './http-reader.js';

export function headForTarget(request: IncomingRequest, target: Target, settings: ProxySettings, upgrade: boolean, mode: 'reverse' | 'forward' = 'reverse'): HttpHead {
  const edits: HeadEdit[] = [];
  // A forward proxy's client already names the host it wants: its Host goes on as it is.
  if (!settings.keepHost && mode === 'reverse') edits.push({ name: 'host', value: formatTarget(target) });
  if (upgrade && !settings.deflate) {
    const offer = header(request.head, 'sec-websocket-extensions');
    const offers = offer === null ? null : parseExtensions(offer);
    if (offers != null) edits.push({ name: 'sec-websocket-extensions', value: withoutDeflate(offers) });
  }
  const { method, version } = request.line;
  // An absolute-form target (a request to a forward proxy) goes on in origin form (RFC 9112 §3.2.1).
  const absolute = absoluteUrl(request.line.target);
  const path = absolute === null ? request.line.target : absolute.pathname + absolute.search;
  const startLine = target.basePath === '' && absolute === null ? undefined : `${method} ${joinPath(target.basePath, path)} ${version}`;
  return editHead(request.head, edits, startLine);
}

function joinPath(base: string, path: string): string {
  return base.replace(/\/$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

/** The URL of an absolute-form request target (RFC 9112 §3.2.2), or null for origin form. */
export function absoluteUrl(requestTarget: string): URL | null {
  if (!/^(https?|wss?):\/\//i.test(requestTarget)) return null;
  try {
    return new URL(requestTarget);
  } catch {
    return null;
  }
}

const SECURE = new Set(['https:', 'wss:']);

/**
 * Forward mode: where a request goes when its connection has no upstream of its own (no CONNECT):
 * the absolute-form URL, else the Host header (RFC 9112 §3.2.2, §7.2).
 */
export function requestedTarget(request: IncomingRequest): Target | null {
  const url = absoluteUrl(request.line.target);
  if (url !== null) {
    const tls = SECURE.has(url.protocol);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? (tls ? 443 : 80) : Number(url.port), basePath: '', tls };
  }
  const host = header(request.head, 'host');
  const m = host === null ? null : /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(host.trim());
  if (m === null) return null;
  return { host: m[1] ?? m[2]!, port: m[3] === undefined ? 80 : Number(m[3]), basePath: '', tls: false };
}

/** The URL as the client meant it: its scheme (wss/ws, https/http by the client leg), the host it asked for, the path. */
export function clientUrl(request: IncomingRequest, clientTls: boolean, fallbackHost: string, websocket: boolean): string {
  const url = absoluteUrl(request.line.target);
  const secure = url !== null ? SECURE.has(url.protocol) : clientTls;
  const scheme = websocket ? (secure ? 'wss' : 'ws') : secure ? 'https' : 'http';
  if (url !== null) return `${scheme}://${url.host}${url.pathname}${url.search}`;
  return `${scheme}://${header(request.head, 'host') ?? fallbackHost}${request.line.target}`;
}
