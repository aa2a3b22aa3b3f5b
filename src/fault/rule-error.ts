/** A rule that does not parse; the message is one line. Apart from the parser, so that the CLI knows it without loading it. */
export class FaultRuleError extends Error {
  override readonly name = 'FaultRuleError';
}
