/**
 * `w`: the visible (filtered) log as JSONL, in the same schema as --log-file (docs/log-format.md).
 */
import fs from 'node:fs/promises';
import { closeJson, frameJson, logJson, messageJson, openJson, violationJson } from '../output/jsonl.js';
import { rowSession, type Row, type TuiStore } from './store.js';
import type { SessionInfo } from '../proxy/events.js';
import { harDocument, HarSessionBuilder } from '../export/har.js';
import { headOf, writeAtomic } from '../export/har-writer.js';
import { wsproxyVersion } from '../export/version.js';

export function rowJson(row: Row): unknown {
  switch (row.type) {
    case 'frame':
      return frameJson(row.record);
    case 'message':
      return messageJson(row.record);
    case 'open':
      return openJson(row.info);
    case 'close':
      return closeJson(row.record);
    case 'log':
      return logJson(row.record);
    case 'violation':
      return violationJson(row.record);
  }
}

export function rowsToJsonl(rows: Iterable<Row>): string {
  let out = '';
  for (const row of rows) out += `${JSON.stringify(rowJson(row))}\n`;
  return out;
}

/** Writes the rows; resolves with how many were written. */
export async function writeJsonl(path: string, rows: readonly Row[]): Promise<number> {
  await fs.writeFile(path, rowsToJsonl(rows), 'utf8');
  return rows.length;
}

/** wsproxy-20261121-194909.jsonl */
export function defaultExportName(now: number): string {
  const d = new Date(now);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `wsproxy-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.jsonl`;
}

/**
 * `H`: the sessions that have rows in the visible log, as HAR, with the messages (and control
 * frames) the UI still holds for them. Resolves with the number of sessions written.
 */
/**
 * What `H` writes: the sessions that have a row in the visible (filtered) log, whole: every row
 * of theirs the ring still holds, not only those the filter shows.
 */
export function harRows(store: TuiStore): Row[] {
  const view = store.view;
  const ids = new Set<number>();
  for (let i = view.start; i < view.end; i++) {
    const session = rowSession(view.at(i)!);
    if (session !== null) ids.add(session);
  }
  return store.rowsOfSessions(ids);
}

export async function writeHar(path: string, rows: readonly Row[], info: (session: number) => SessionInfo | null, now: number): Promise<number> {
  const builders = new Map<number, HarSessionBuilder>();
  const seen = new Set<number>();
  const builder = (session: number): HarSessionBuilder | null => {
    let b = builders.get(session);
    if (b === undefined) {
      const i = info(session);
      if (i === null) return null;
      b = new HarSessionBuilder(headOf(i), { control: false });
      builders.set(session, b);
    }
    return b;
  };
  for (const row of rows) {
    if (row.type === 'open') builder(row.info.session);
    else if (row.type === 'close') {
      const b = builder(row.record.session);
      if (b !== null) b.close = row.record;
    } else if (row.type === 'frame') {
      const b = builder(row.record.session);
      if (b === null) continue;
      b.frame(row.record);
      // A data frame carries its whole message once that is known: the message item goes after its
      // last frame. A one-frame message has no record of its own in the UI: its frame is the message.
      const f = row.record;
      const m = row.message;
      if (m !== null && f.fin && !seen.has(m.id)) {
        seen.add(m.id);
        b.message(m);
      } else if (m === null && f.fin && (f.kind === 'text' || f.kind === 'binary')) {
        b.message({ id: f.id, time: f.time, from: f.from, kind: f.kind, length: f.truncated ? f.length : f.payload.length, payload: f.payload, truncated: f.truncated, frames: 1, compressed: f.compressed, fate: f.origin === 'peer' ? 'forwarded' : f.origin, by: null });
      }
    } else if (row.type === 'message' && !seen.has(row.record.id)) {
      seen.add(row.record.id);
      builder(row.record.session)?.message(row.record);
    }
  }
  const entries = [...builders.values()].map((b) => b.entry(now));
  await writeAtomic(path, JSON.stringify(harDocument(entries, wsproxyVersion()), null, 1));
  return entries.length;
}

