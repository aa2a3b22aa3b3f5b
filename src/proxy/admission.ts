/**
 * The admission hook of the upgrade path: before an upgrade is dialled, it may be held (a late
 * handshake) or answered by the proxy itself (a refusal with a status and headers). Fault rules
 * (src/fault/) use it for `handshake` rules and reconnect storms; without a hook nothing changes.
 */

/** An upgrade request as the hook sees it. */
export interface UpgradeAttempt {
  /** "ip:port" of the client. */
  readonly client: string;
  /** Request target (path and query). */
  readonly path: string;
}

export type Admission =
  | { readonly action: 'pass' }
  | { readonly action: 'refuse'; readonly status: number; readonly headers: readonly (readonly [string, string])[]; readonly reason: string };

export type AdmissionHook = (attempt: UpgradeAttempt) => Admission | Promise<Admission>;
