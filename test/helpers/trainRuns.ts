// Helpers for tests that run `cola train` as a child process and interrupt it.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/cola.js, from dist/test/helpers. */
export const colaBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/cola.js');

/** The loss of every step event in `runDir/metrics.jsonl`, in order. */
export function stepLosses(runDir: string): number[] {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.event === 'step')
    .map((e) => e.loss);
}

/** Resolves once `runDir/metrics.jsonl` logs at least `steps` steps, or the child has exited. */
export function waitForSteps(child: ChildProcess, runDir: string, steps: number): Promise<void> {
  const file = path.join(runDir, 'metrics.jsonl');
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      const n = fs.existsSync(file)
        ? fs
            .readFileSync(file, 'utf8')
            .split('\n')
            .filter((l) => l.includes('"step"')).length
        : 0;
      if (n >= steps || child.exitCode !== null) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
}
