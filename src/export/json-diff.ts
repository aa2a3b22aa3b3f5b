/**
 * A structural diff of two JSON values, as a test failure reads: one line per path that differs,
 * with `--ignore` paths (JSONPath-like: `$.ts`, `$.items[0].id`, `$.items[*].id`, `$..ts`) left out.
 * Pure.
 */

export type PathSegment = string | number;

export interface JsonDifference {
  readonly path: readonly PathSegment[];
  /** undefined: not there. */
  readonly expected: unknown;
  readonly actual: unknown;
}

type Token = { readonly type: 'key'; readonly key: string } | { readonly type: 'index'; readonly index: number } | { readonly type: 'any' } | { readonly type: 'descend' };

export class PathError extends Error {
  override readonly name = 'PathError';
}

/** Parses `$.a.b[0][*]..c["odd key"]`. */
export function parsePath(text: string): Token[] {
  if (!text.startsWith('$')) throw new PathError(`--ignore: a path starts with $ (e.g. $.ts), got "${text}"`);
  const tokens: Token[] = [];
  let i = 1;
  while (i < text.length) {
    if (text.startsWith('..', i)) {
      tokens.push({ type: 'descend' });
      i += 2;
      const m = /^[A-Za-z_$][\w$-]*|^\*/.exec(text.slice(i));
      if (m === null) throw new PathError(`--ignore: a name must follow ".." in "${text}"`);
      tokens.push(m[0] === '*' ? { type: 'any' } : { type: 'key', key: m[0] });
      i += m[0].length;
    } else if (text[i] === '.') {
      const m = /^[A-Za-z_$][\w$-]*|^\*/.exec(text.slice(i + 1));
      if (m === null) throw new PathError(`--ignore: a name must follow "." in "${text}"`);
      tokens.push(m[0] === '*' ? { type: 'any' } : { type: 'key', key: m[0] });
      i += 1 + m[0].length;
    } else if (text[i] === '[') {
      const m = /^\[(?:(\d+)|\*|"((?:[^"\\]|\\.)*)"|'([^']*)')\]/.exec(text.slice(i));
      if (m === null) throw new PathError(`--ignore: expected [N], [*] or ["key"] in "${text}"`);
      if (m[1] !== undefined) tokens.push({ type: 'index', index: Number(m[1]) });
      else if (m[2] !== undefined) tokens.push({ type: 'key', key: JSON.parse(`"${m[2]}"`) as string });
      else if (m[3] !== undefined) tokens.push({ type: 'key', key: m[3] });
      else tokens.push({ type: 'any' });
      i += m[0].length;
    } else throw new PathError(`--ignore: unexpected "${text[i]}" in "${text}"`);
  }
  return tokens;
}

function tokenMatches(t: Token, s: PathSegment): boolean {
  switch (t.type) {
    case 'any':
      return true;
    case 'key':
      return s === t.key || (typeof s === 'number' && String(s) === t.key);
    case 'index':
      return s === t.index;
    case 'descend':
      return false;
  }
}

/** Whether the pattern matches the path or one of its ancestors (ignoring a field ignores what is under it). */
export function pathMatches(pattern: readonly Token[], path: readonly PathSegment[]): boolean {
  const go = (pi: number, si: number): boolean => {
    if (pi === pattern.length) return true;
    const t = pattern[pi]!;
    if (t.type === 'descend') {
      for (let k = si; k <= path.length; k++) if (go(pi + 1, k)) return true;
      return false;
    }
    if (si >= path.length) return false;
    return tokenMatches(t, path[si]!) && go(pi + 1, si + 1);
  };
  return go(0, 0);
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '$';
  for (const s of path) out += typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every path where the two differ; objects compare by key (order ignored), arrays by index. */
export function jsonDiff(expected: unknown, actual: unknown, ignore: readonly (readonly Token[])[] = [], path: PathSegment[] = []): JsonDifference[] {
  if (ignore.some((p) => pathMatches(p, path))) return [];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const out: JsonDifference[] = [];
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) out.push(...jsonDiff(i < expected.length ? expected[i] : undefined, i < actual.length ? actual[i] : undefined, ignore, [...path, i]));
    return out;
  }
  if (isObject(expected) && isObject(actual)) {
    const out: JsonDifference[] = [];
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const k of keys) out.push(...jsonDiff(Object.hasOwn(expected, k) ? expected[k] : undefined, Object.hasOwn(actual, k) ? actual[k] : undefined, ignore, [...path, k]));
    return out;
  }
  if (Object.is(expected, actual)) return [];
  return [{ path: [...path], expected, actual }];
}

/** JSON parse that says "not JSON" instead of throwing. */
export function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  const t = text.trim();
  if (t === '' || !/^[[{"\d\-tfn]/.test(t)) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(t) as unknown };
  } catch {
    return { ok: false };
  }
}

export function showValue(v: unknown): string {
  return v === undefined ? '(missing)' : JSON.stringify(v);
}
