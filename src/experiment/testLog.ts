/** test_evals.jsonl: the test metrics taken at every dev evaluation of a cell. The
 * test metric of the best-on-dev checkpoint is then read off at the best step, for
 * every method alike (full fine-tuning keeps no best/ adapter to reload), and it
 * survives a resume because it is on disk. Selection never looks at this file. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Metrics } from '../eval/evaluate.js';
import { ColaError } from '../errors.js';

export const TEST_LOG = 'test_evals.jsonl';

export class TestLog {
  readonly file: string;

  constructor(runDir: string) {
    this.file = path.join(runDir, TEST_LOG);
  }

  reset(): void {
    fs.rmSync(this.file, { force: true });
  }

  write(step: number, metrics: Metrics): void {
    fs.appendFileSync(this.file, JSON.stringify({ step, metrics }) + '\n');
  }

  /** The metrics at `step`; a resume may have evaluated a step twice (the same model
   * state, so the same numbers): the last line wins. */
  at(step: number): Metrics {
    const lines = fs.existsSync(this.file) ? fs.readFileSync(this.file, 'utf8').split('\n') : [];
    let found: Metrics | undefined;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as { step: number; metrics: Metrics };
        if (e.step === step) found = e.metrics;
      } catch {
        // a line cut by a kill mid-write; that evaluation was redone after the resume
      }
    }
    if (!found)
      throw new ColaError(`${this.file}: no test evaluation at step ${step}; remove ${path.dirname(this.file)} to rerun the cell`);
    return found;
  }
}
