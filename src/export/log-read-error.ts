/** A recording that cannot be read; the message is one line. Apart from the reader, so that the CLI knows it without loading it. */
export class LogReadError extends Error {
  override readonly name = 'LogReadError';
}
