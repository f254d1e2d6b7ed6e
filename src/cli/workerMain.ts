/** The worker thread of runInWorker (worker.ts): runs one command's body with the
 * shared stop flag and posts back its output as it is written, then its exit code or
 * its error. */
import { parentPort, workerData } from 'node:worker_threads';
import { ColaError } from '../errors.js';
import { asUserFsError } from '../io/fileIo.js';
import { commands } from './commands/index.js';
import type { StdioChunk, WorkerInput, WorkerReply } from './worker.js';

/** A worker's own stdio sends each write to the main thread only once the worker's
 * event loop turns, which a synchronous training run never lets happen: progress would
 * appear at the end. Posting each write as a message goes out at once. */
function forwardStdio(port: NonNullable<typeof parentPort>, stderrIsTTY: boolean): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    stream._writev = undefined;
    stream._write = (chunk: string | Uint8Array, _encoding: BufferEncoding, done: (e?: Error | null) => void): void => {
      // a copy: a small Buffer is a view of an 8 KiB pool, which would be cloned whole
      port.postMessage({ stdio: name, chunk: typeof chunk === 'string' ? chunk : Uint8Array.from(chunk) } satisfies StdioChunk);
      done();
    };
  }
  // Progress lines redraw in place when the main thread's stderr is a terminal.
  if (stderrIsTTY) (process.stderr as { isTTY?: boolean }).isTTY = true;
}

function main(input: WorkerInput): WorkerReply {
  const flag = new Int32Array(input.stop);
  try {
    const body = commands.find((c) => c.name === input.command)?.body;
    if (!body) throw new Error(`cola ${input.command} has no body to run in a worker`);
    return { code: body(input.values, () => Atomics.load(flag, 0) === 1) };
  } catch (thrown) {
    const e = asUserFsError(thrown); // the errno code does not survive the message to the main thread
    return { error: (e as Error).message, cola: e instanceof ColaError, stack: (e as Error).stack };
  }
}

if (parentPort) {
  const input = workerData as WorkerInput;
  forwardStdio(parentPort, input.stderrIsTTY);
  parentPort.postMessage(main(input));
}
