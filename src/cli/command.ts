import type { OptionSpecs, OptionValues } from './options.js';

/** A subcommand: one module in src/cli/commands/, registered in main.ts. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpecs;
  run(values: OptionValues, positionals: string[]): Promise<number | void> | number | void;
}
