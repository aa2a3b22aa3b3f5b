#!/usr/bin/env node
// The command runs the compiled code in dist/; a checkout that was never built has none.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('wsproxy: dist/ is missing: this checkout is not built yet; run `npm run build` first\n');
  process.exit(1);
}
const { main: run } = await import(main.href);
await run(process.argv);
