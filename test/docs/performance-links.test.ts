/**
 * docs/performance.md names files (in backticks or as links) for the reader to open: each one must
 * be in the repository, not a generated file or one that has moved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

test('docs/performance.md points at no file that is not in the repository', () => {
  const text = readFileSync(path.join(ROOT, 'docs', 'performance.md'), 'utf8');
  const named = new Set<string>();
  // `bench/stream-echo.ts`, and [text](../bench/README.md).
  for (const m of text.matchAll(/`([\w./-]+\.(?:ts|js|mjs|json|md))`/g)) named.add(m[1]!);
  for (const m of text.matchAll(/\]\(([^)#\s]+)\)/g)) if (!/^[a-z]+:/.test(m[1]!)) named.add(path.normalize(path.join('docs', m[1]!)));
  assert.ok(named.size > 0, 'the page names files');
  // Tracked by git: a file that exists only because a run wrote it (and is ignored) does not count.
  const tracked = new Set(execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n'));
  const missing = [...named].filter((f) => !tracked.has(f) || !existsSync(path.join(ROOT, f)));
  assert.deepEqual(missing, []);
});
