/**
 * The request head as the target received it next to the one the client sent: which lines the
 * proxy changed (Host, the base path, --no-deflate). Pure; shared by the TUI and the JSONL log.
 */
import type { HttpHead } from '../protocol/handshake.js';

export interface HeadLine {
  readonly text: string;
  /** Not in the other head (as a whole line, counted: a repeated line must be repeated there too). */
  readonly changed: boolean;
}

export interface HeadDiff {
  /** The heads are the same lines. */
  readonly same: boolean;
  /** Lines of the head the target received. */
  readonly sent: readonly HeadLine[];
  /** Lines of the head the client sent. */
  readonly client: readonly HeadLine[];
}

function lines(head: HttpHead): string[] {
  return [head.startLine, ...head.headers.map(([name, value]) => `${name}: ${value}`)];
}

function mark(own: readonly string[], other: readonly string[]): HeadLine[] {
  const left = new Map<string, number>();
  for (const l of other) left.set(l, (left.get(l) ?? 0) + 1);
  return own.map((text) => {
    const n = left.get(text) ?? 0;
    if (n > 0) left.set(text, n - 1);
    return { text, changed: n === 0 };
  });
}

export function diffHeads(client: HttpHead, sent: HttpHead): HeadDiff {
  const a = lines(client);
  const b = lines(sent);
  const sentLines = mark(b, a);
  const clientLines = mark(a, b);
  return { same: !sentLines.some((l) => l.changed) && !clientLines.some((l) => l.changed), sent: sentLines, client: clientLines };
}
