import { ColaError } from '../errors.js';
import { asUserFsError } from '../io/fileIo.js';
import type { Command } from './command.js';
import { helpText, parseOptions } from './options.js';
import { commands } from './commands/index.js';

const USAGE = `cola: fine-tune language models with LoRA and the Chain of LoRA (COLA)

Usage: cola <command> [options]   (cola <command> --help for its options)

Commands:
${commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}
`;

/** The CLI dispatcher: finds the command, parses its flags, runs it. User
 * mistakes (ColaError, and fs errors such as ENOSPC: fileIo.ts asUserFsError) print
 * one message and exit 1; anything else is a bug (exit 70); --debug shows the stack. */
export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  const debug = argv.includes('--debug') || process.env['COLA_DEBUG'] === '1';
  const args = argv.filter((a) => a !== '--debug');
  const name = args[0];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 1;
  }
  if (name === '--version') {
    process.stdout.write('cola 0.1.0\n');
    return 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`cola: unknown command "${name}". Commands: ${commands.map((c) => c.name).join(', ')}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(helpText(command.usage, command.summary, command.options));
    return 0;
  }
  try {
    const parsed = parseOptions(args.slice(1), command.options, command.name);
    return (await command.run(parsed.values, parsed.positionals)) ?? 0;
  } catch (thrown) {
    // a full disk or a read-only folder is the user's to fix, not a bug
    const e = asUserFsError(thrown);
    if (e instanceof ColaError && !debug) {
      process.stderr.write(`cola ${command.name}: ${e.message.replace(new RegExp(`^cola ${command.name}: `), '')}\n`);
      return 1;
    }
    if (!debug) {
      process.stderr.write(
        `cola ${command.name}: internal error: ${(e as Error).message}\n(this is a bug; rerun with --debug for the stack trace)\n`,
      );
      return 70;
    }
    throw thrown;
  }
}

/** `cola train --json | head`: when the reader closes the pipe, stop quietly (as
 * Unix tools do) instead of dying on an unhandled EPIPE with a stack trace. */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
}
