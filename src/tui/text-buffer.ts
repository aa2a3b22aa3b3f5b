/**
 * The text model behind the editor pane, the send form's payload and the one-line prompts:
 * lines of code points and a cursor. Pure; keys arrive as canonical names (keymap.ts).
 */
import { isPrintable } from './keymap.js';

const isHighSurrogate = (c: string): boolean => c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdbff;
const isLowSurrogate = (c: string): boolean => c.length === 1 && c.charCodeAt(0) >= 0xdc00 && c.charCodeAt(0) <= 0xdfff;

export class TextBuffer {
  #lines: string[][];
  /** Cursor line and column (in code points). */
  row = 0;
  col = 0;
  /** Column the cursor wants to be in when moving up and down through shorter lines. */
  #goal = 0;

  constructor(
    text = '',
    readonly multiline = true,
  ) {
    this.#lines = [[]];
    this.setText(text);
  }

  get text(): string {
    return this.#lines.map((l) => l.join('')).join('\n');
  }

  get lineCount(): number {
    return this.#lines.length;
  }

  line(i: number): readonly string[] {
    return this.#lines[i] ?? [];
  }

  /** Replaces everything and puts the cursor at the end. */
  setText(text: string): void {
    const clean = this.multiline ? text.replace(/\r\n?/g, '\n') : text.replace(/[\r\n]+/g, ' ');
    this.#lines = clean.split('\n').map((l) => [...l]);
    this.row = this.#lines.length - 1;
    this.col = this.#lines[this.row]!.length;
    this.#goal = this.col;
  }

  /** Puts the cursor at a line and column (clamped). */
  moveTo(row: number, col: number): void {
    this.row = Math.max(0, Math.min(row, this.#lines.length - 1));
    this.col = Math.max(0, Math.min(col, this.#lines[this.row]!.length));
    this.#goal = this.col;
  }

  insert(text: string): void {
    for (const ch of text) {
      if (ch === '\n' || ch === '\r') {
        if (this.multiline) this.newline();
        continue;
      }
      const line = this.#lines[this.row]!;
      // An emoji typed arrives as its two UTF-16 halves, one key each: joined, it is one character.
      const before = line[this.col - 1];
      if (isLowSurrogate(ch) && before !== undefined && before.length === 1 && isHighSurrogate(before)) {
        line[this.col - 1] = before + ch;
        continue;
      }
      line.splice(this.col, 0, ch);
      this.col++;
    }
    this.#goal = this.col;
  }

  newline(): void {
    if (!this.multiline) return;
    const line = this.#lines[this.row]!;
    // No auto-indent: pasted text arrives key by key and must land as it was.
    this.#lines.splice(this.row + 1, 0, line.splice(this.col));
    this.row++;
    this.col = 0;
    this.#goal = this.col;
  }

  backspace(): void {
    if (this.col > 0) {
      this.#lines[this.row]!.splice(this.col - 1, 1);
      this.col--;
    } else if (this.row > 0) {
      const line = this.#lines.splice(this.row, 1)[0]!;
      this.row--;
      const prev = this.#lines[this.row]!;
      this.col = prev.length;
      prev.push(...line);
    }
    this.#goal = this.col;
  }

  delete(): void {
    const line = this.#lines[this.row]!;
    if (this.col < line.length) line.splice(this.col, 1);
    else if (this.row < this.#lines.length - 1) line.push(...this.#lines.splice(this.row + 1, 1)[0]!);
  }

  killToEnd(): void {
    const line = this.#lines[this.row]!;
    if (this.col < line.length) line.splice(this.col);
    else this.delete();
  }

  /** Deletes from the start of the line to the cursor (readline's Ctrl-U). */
  killToStart(): void {
    this.#lines[this.row]!.splice(0, this.col);
    this.col = 0;
    this.#goal = 0;
  }

  left(): void {
    if (this.col > 0) this.col--;
    else if (this.row > 0) {
      this.row--;
      this.col = this.#lines[this.row]!.length;
    }
    this.#goal = this.col;
  }

  right(): void {
    if (this.col < this.#lines[this.row]!.length) this.col++;
    else if (this.row < this.#lines.length - 1) {
      this.row++;
      this.col = 0;
    }
    this.#goal = this.col;
  }

  up(n = 1): void {
    this.row = Math.max(0, this.row - n);
    this.col = Math.min(this.#goal, this.#lines[this.row]!.length);
  }

  down(n = 1): void {
    this.row = Math.min(this.#lines.length - 1, this.row + n);
    this.col = Math.min(this.#goal, this.#lines[this.row]!.length);
  }

  home(): void {
    this.col = 0;
    this.#goal = 0;
  }

  end(): void {
    this.col = this.#lines[this.row]!.length;
    this.#goal = this.col;
  }

  /**
   * Applies an editing key. Returns false for keys it does not handle (the caller's to use).
   * `page` is the number of lines PgUp/PgDn move.
   */
  handleKey(key: string, ch: string | undefined, page = 10): boolean {
    switch (key) {
      case 'left':
        this.left();
        return true;
      case 'right':
        this.right();
        return true;
      case 'up':
        if (!this.multiline) return false;
        this.up();
        return true;
      case 'down':
        if (!this.multiline) return false;
        this.down();
        return true;
      case 'pageup':
        if (!this.multiline) return false;
        this.up(page);
        return true;
      case 'pagedown':
        if (!this.multiline) return false;
        this.down(page);
        return true;
      case 'home':
      case 'C-a':
        this.home();
        return true;
      case 'end':
      case 'C-e':
        this.end();
        return true;
      case 'backspace':
      case 'C-h':
        this.backspace();
        return true;
      case 'delete':
        this.delete();
        return true;
      case 'C-k':
        this.killToEnd();
        return true;
      case 'C-u':
        this.killToStart();
        return true;
      case 'enter':
        if (!this.multiline) return false;
        this.newline();
        return true;
      case 'tab':
        if (!this.multiline) return false;
        this.insert('  ');
        return true;
      case 'space':
        this.insert(' ');
        return true;
      default:
        if (ch !== undefined && isPrintable(ch) && key === ch) {
          this.insert(ch);
          return true;
        }
        return false;
    }
  }
}
