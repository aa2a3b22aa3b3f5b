/**
 * --resolve HOST:ADDRESS (repeatable), like curl's option of that name: connections to HOST go to
 * ADDRESS, while SNI, certificate checks, Host and the record still name HOST. Through a forward
 * proxy the browser resolves nothing, so this is also how a test or a staging setup points a name
 * at an address.
 */
import { isIP } from 'node:net';

export class ResolveError extends Error {
  override readonly name = 'ResolveError';
}

export type Resolver = (host: string) => string;

export function parseResolve(entries: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of entries) {
    const at = entry.indexOf(':');
    const host = at <= 0 ? '' : entry.slice(0, at).toLowerCase();
    const address = at <= 0 ? '' : entry.slice(at + 1).replace(/^\[(.*)\]$/, '$1');
    if (host === '' || isIP(address) === 0) throw new ResolveError(`--resolve: expected HOST:ADDRESS with an IP address (e.g. app.test:127.0.0.1), got "${entry}"`);
    map.set(host, address);
  }
  return map;
}

export function resolver(map: ReadonlyMap<string, string>): Resolver {
  if (map.size === 0) return (host) => host;
  return (host) => map.get(host.toLowerCase().replace(/\.$/, '')) ?? host;
}
