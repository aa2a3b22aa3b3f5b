/** The package's version for file headers (HAR creator), read once from package.json. */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function wsproxyVersion(): string {
  if (cached === null) {
    try {
      // Two levels up from src/export and dist/export alike.
      cached = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
