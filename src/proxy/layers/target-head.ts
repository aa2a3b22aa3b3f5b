/**
 * The request head as the target receives it: the client's head with only the rewrites asked
 * for (Host names the target unless --keep-host, the target's base path is prepended, and for an
 * upgrade --no-deflate strips permessage-deflate from the offer). Every other byte is kept.
 */
import { header, parseExtensions, parseHead, rewriteHead, type HeadEdit, type HttpHead } from '../../protocol/handshake.js';
import { withoutDeflate } from '../../protocol/deflate-params.js';
import { formatTarget, type Target } from '../upstream.js';
import type { ProxySettings } from './context.js';
import type { IncomingRequest } from './http-reader.js';

export function headForTarget(request: IncomingRequest, target: Target, settings: ProxySettings, upgrade: boolean): HttpHead {
  const edits: HeadEdit[] = [];
  if (!settings.keepHost) edits.push({ name: 'host', value: formatTarget(target) });
  if (upgrade && !settings.deflate) {
    const offer = header(request.head, 'sec-websocket-extensions');
    const offers = offer === null ? null : parseExtensions(offer);
    if (offers != null) edits.push({ name: 'sec-websocket-extensions', value: withoutDeflate(offers) });
  }
  const { method, target: path, version } = request.line;
  const startLine = target.basePath === '' ? undefined : `${method} ${joinPath(target.basePath, path)} ${version}`;
  if (edits.length === 0 && startLine === undefined) return request.head;
  const raw = rewriteHead(request.head, edits, startLine);
  const parsed = parseHead(raw);
  // A rewrite of a head that parsed keeps it parseable; the fallback only satisfies the types.
  return parsed.ok ? parsed.head : { ...request.head, raw };
}

function joinPath(base: string, path: string): string {
  return base.replace(/\/$/, '') + (path.startsWith('/') ? path : `/${path}`);
}
