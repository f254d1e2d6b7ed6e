// What `cola train` (or fineTune) wrote in a run folder, read back for the tests.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A run folder's config.json, as `cola train` wrote it. */
export function runRecord(run: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')) as Record<string, unknown>;
}

/** A run folder's metrics.jsonl events, in order. */
export function runEvents(run: string): Record<string, unknown>[] {
  return fs
    .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The training loss of every step of a run. */
export function stepLosses(run: string): number[] {
  return runEvents(run).flatMap((e) => (e['event'] === 'step' ? [e['loss'] as number] : []));
}
