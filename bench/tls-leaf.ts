/**
 * Leaf certificate issuance, as the TLS listener and forward mode do it for every new name:
 * one ECDSA P-256 signature by the local CA over a leaf for the shared key, plus the secure
 * context. Runs in process against the built code, with a throwaway CA.
 *
 *   node --import tsx bench/tls-leaf.ts [--quick]     (also one line of npm run bench)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LeafFigures {
  readonly leaves: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  /** A cached name: a map lookup. */
  readonly cachedUs: number;
}

const dist = new URL('../dist/', import.meta.url);

export async function measureLeafIssuance(leaves: number): Promise<LeafFigures> {
  if (!existsSync(new URL('tls/leaf-issuer.js', dist))) throw new Error('dist/ not found: run npm run build first');
  const { openCa } = (await import(new URL('tls/ca.js', dist).href)) as typeof import('../src/tls/ca.js');
  const { createLeafIssuer } = (await import(new URL('tls/leaf-issuer.js', dist).href)) as typeof import('../src/tls/leaf-issuer.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-bench-ca-'));
  try {
    const issuer = await createLeafIssuer(await openCa(dir), leaves + 10);
    // Warm-up: the first leaves pay for loading and JIT.
    for (let i = 0; i < 20; i++) await issuer.context([`warm-${i}.test`]);
    const times: number[] = [];
    for (let i = 0; i < leaves; i++) {
      const t = performance.now();
      await issuer.context([`host-${i}.bench.test`]);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const t = performance.now();
    const lookups = 10_000;
    for (let i = 0; i < lookups; i++) await issuer.context([`host-${i % leaves}.bench.test`]);
    return {
      leaves,
      medianMs: times[Math.floor(times.length / 2)]!,
      p95Ms: times[Math.floor(times.length * 0.95)]!,
      cachedUs: ((performance.now() - t) * 1000) / lookups,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function leafLine(f: LeafFigures): string {
  return `TLS leaf issuance: ${f.medianMs.toFixed(2)} ms median, ${f.p95Ms.toFixed(2)} ms p95 over ${f.leaves} new names (one P-256 signature each); cached name ${f.cachedUs.toFixed(1)} µs`;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  console.log(leafLine(await measureLeafIssuance(quick ? 50 : 300)));
}
