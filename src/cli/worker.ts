/** Ctrl-C for long commands. Training is synchronous, and Node runs a SIGINT handler
 * only when the event loop of the thread that got the signal turns: on the thread that
 * trains, that is after the whole run. So `cola train` and `cola experiment` run their
 * body in a worker thread (workerMain.ts); this, the main thread, keeps its event loop
 * free, catches SIGINT and raises a shared flag that the training loop reads between
 * steps; the run saves a checkpoint and the body returns (130 by convention). */
import { Worker } from 'node:worker_threads';
import { ColaError } from '../errors.js';
import type { Command } from './command.js';
import type { OptionValues } from './options.js';

export interface WorkerInput {
  command: string;
  values: OptionValues;
  /** Int32Array view: element 0 becomes 1 when the user asked to stop. */
  stop: SharedArrayBuffer;
  /** The worker's stderr goes out through ours: progress lines need to know whether that is a terminal. */
  stderrIsTTY: boolean;
}

export type WorkerReply = { code: number } | { error: string; cola: boolean; stack?: string };

/** A write of the worker to its stdout or stderr, forwarded as it happens. */
export interface StdioChunk {
  stdio: 'stdout' | 'stderr';
  chunk: string | Uint8Array;
}

/** A command whose `run` is its `body` in a worker thread. */
export function stoppable(c: Omit<Command, 'run' | 'body'> & Required<Pick<Command, 'body'>>): Command {
  return { ...c, run: (values) => runInWorker(c.name, values) };
}

/** Runs the body of command `name` in a worker and returns its exit code; its errors are
 * thrown here, as if it had run on this thread (ColaError message, stack for --debug). */
async function runInWorker(name: string, values: OptionValues): Promise<number> {
  const stop = new SharedArrayBuffer(4);
  const onSecond = (): never => process.exit(130);
  const onFirst = (): void => {
    Atomics.store(new Int32Array(stop), 0, 1);
    process.stderr.write(`\ncola ${name}: stopping after this step and saving a checkpoint (Ctrl-C again to abort)\n`);
    process.once('SIGINT', onSecond);
  };
  process.once('SIGINT', onFirst);
  try {
    const reply = await runWorker({ command: name, values, stop, stderrIsTTY: process.stderr.isTTY === true });
    if ('code' in reply) return reply.code;
    const e = reply.cola ? new ColaError(reply.error) : new Error(reply.error);
    throw Object.assign(e, { stack: reply.stack });
  } finally {
    process.removeListener('SIGINT', onFirst);
    process.removeListener('SIGINT', onSecond);
  }
}

function runWorker(input: WorkerInput): Promise<WorkerReply> {
  const worker = new Worker(new URL('./workerMain.js', import.meta.url), { workerData: input });
  return new Promise<WorkerReply>((resolve, reject) => {
    // Output and the reply share one channel, in order: by the reply, all output is written.
    worker.on('message', (m: WorkerReply | StdioChunk) => ('stdio' in m ? process[m.stdio].write(m.chunk) : resolve(m)));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the cola ${input.command} worker exited with code ${code} before replying`)));
  });
}
