/** A user mistake or a bad input file: the CLI prints the message alone (no stack
 * trace unless --debug) and exits non-zero. The message says what was expected,
 * what was found, and how to fix it. */
export class ColaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ColaError';
  }
}
