import type { OptionSpecs, OptionValues } from './options.js';

/** A subcommand: one module in src/cli/commands/, registered in main.ts. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpecs;
  run(values: OptionValues, positionals: string[]): Promise<number | void> | number | void;
  /** A long synchronous body that `run` starts in a worker thread (see worker.ts), so
   * that Ctrl-C reaches it; it polls `shouldStop` between steps. */
  body?(values: OptionValues, shouldStop: () => boolean): number;
}
