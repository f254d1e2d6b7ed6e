/** The experiment runs in a worker thread so that Ctrl-C can reach it: training is
 * synchronous, and a SIGINT handler on the thread that trains would only run after
 * the whole run (Node delivers signals through the event loop). The main thread keeps
 * its event loop free, catches SIGINT and raises a shared flag; the training loop reads
 * it between steps, saves a checkpoint and stops. */
import { parentPort, workerData } from 'node:worker_threads';
import type { OptionValues } from '../cli/options.js';
import { ColaError } from '../errors.js';
import { runExperiment, type ExperimentRun } from './run.js';
import { parseExperiment } from './spec.js';

export interface WorkerInput {
  values: OptionValues;
  /** Int32Array view: element 0 becomes 1 when the user asked to stop. */
  stop: SharedArrayBuffer;
}

export type WorkerReply = { ok: ExperimentRun } | { error: string; cola: boolean; stack?: string };

function main(input: WorkerInput): WorkerReply {
  const flag = new Int32Array(input.stop);
  try {
    const v = input.values;
    const spec = parseExperiment(v);
    return {
      ok: runExperiment(v, spec, { quiet: (v['quiet'] as boolean | undefined) ?? false, shouldStop: () => Atomics.load(flag, 0) === 1 }),
    };
  } catch (e) {
    return { error: (e as Error).message, cola: e instanceof ColaError, stack: (e as Error).stack };
  }
}

if (parentPort) parentPort.postMessage(main(workerData as WorkerInput));
