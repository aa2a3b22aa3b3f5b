/**
 * The store's rows as its readers see them: a Deque of rows, where a small frame is held as its
 * row number and made into a FrameRow when read (frame-row.ts). Same positions, same order.
 */
import type { Deque } from './deque.js';
import type { FrameTable } from './frame-row.js';
import type { Row } from './store.js';

/** A row as held: the row itself, or the number (seq) of a small frame kept in the table. */
export type HeldRow = Row | number;

export class RowView implements Iterable<Row> {
  readonly #items: Deque<HeldRow>;
  readonly #table: FrameTable;

  constructor(items: Deque<HeldRow>, table: FrameTable) {
    this.#items = items;
    this.#table = table;
  }

  get start(): number {
    return this.#items.start;
  }

  get end(): number {
    return this.#items.end;
  }

  get length(): number {
    return this.#items.length;
  }

  #row(item: HeldRow | undefined): Row | undefined {
    return typeof item === 'number' ? this.#table.row(item) : item;
  }

  at(position: number): Row | undefined {
    return this.#row(this.#items.at(position));
  }

  first(): Row | undefined {
    return this.#row(this.#items.first());
  }

  last(): Row | undefined {
    return this.#row(this.#items.last());
  }

  slice(from: number, to: number): Row[] {
    return this.#items.slice(from, to).map((item) => this.#row(item)!);
  }

  lowerBound(pred: (row: Row) => boolean): number {
    return this.#items.lowerBound((item) => pred(this.#row(item)!));
  }

  *[Symbol.iterator](): IterableIterator<Row> {
    for (const item of this.#items) yield this.#row(item)!;
  }
}

/** The row number of a held row. */
export function seqOf(item: HeldRow): number {
  return typeof item === 'number' ? item : item.seq;
}
