/**
 * `w`: the visible (filtered) log as JSONL, in the same schema as --log-file (docs/log-format.md).
 */
import fs from 'node:fs/promises';
import { closeJson, frameJson, logJson, messageJson, openJson, violationJson } from '../output/jsonl.js';
import type { Row } from './store.js';

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
