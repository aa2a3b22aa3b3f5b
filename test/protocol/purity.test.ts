/**
 * The protocol core is sans-IO: bytes in, events out. Every file in src/protocol may import only
 * its siblings, 'node:buffer' and 'node:crypto' (a hash for Sec-WebSocket-Accept); no sockets,
 * files, timers or third-party packages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const PROTOCOL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'protocol');
const ALLOWED_BUILTINS = new Set(['node:buffer', 'node:crypto']);

/** Every module specifier in a file: static and type-only imports, re-exports, import(), require(). */
function specifiers(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

function isAllowed(specifier: string): boolean {
  // A sibling module only: '../' would reach out of the core into code that may do IO.
  return ALLOWED_BUILTINS.has(specifier) || /^\.\/[^/]+\.js$/.test(specifier);
}

const files = readdirSync(PROTOCOL_DIR)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(PROTOCOL_DIR, f));

test('the scanner sees the imports it is meant to police', () => {
  // Guard against a vacuous pass: the scan must find known imports, and flag bad ones.
  assert.ok(files.length >= 10, `only ${files.length} files found in ${PROTOCOL_DIR}`);
  const all = files.flatMap(specifiers);
  assert.ok(all.includes('node:crypto'));
  assert.ok(all.includes('./frame-parser.js'));
  const probe = ts.preProcessFile(
    "import net from 'node:net'; export * from '../proxy/x.js'; const fs = await import('fs'); require('ws');",
    true,
    true,
  );
  assert.deepEqual(
    probe.importedFiles.map((f) => f.fileName).filter((s) => !isAllowed(s)),
    ['node:net', '../proxy/x.js', 'fs', 'ws'],
  );
});

test('src/protocol imports only sibling modules, node:buffer and node:crypto', () => {
  const offenders = files.flatMap((file) =>
    specifiers(file)
      .filter((s) => !isAllowed(s))
      .map((s) => `${relative(PROTOCOL_DIR, file)} imports '${s}'`),
  );
  assert.deepEqual(offenders, []);
});

test('src/protocol has no IO-flavoured globals (process, timers, fetch)', () => {
  const pattern = /\b(?:process\.|setTimeout|setInterval|setImmediate|queueMicrotask|fetch\()/;
  const offenders = files.filter((file) => {
    // Comments may mention anything; only code counts.
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    return pattern.test(code);
  });
  assert.deepEqual(
    offenders.map((f) => relative(PROTOCOL_DIR, f)),
    [],
  );
});
