/** Run an experiment grid cell by cell (skipping finished ones), then write its
 * summary files. Stops between cells, or inside one at its next checkpoint, on request.
 * Under mpirun (issue 19) the cells are dealt round-robin over the ranks, each trained
 * single-process on its rank; rank 0 gathers the results and alone writes the summary. */
import * as path from 'node:path';
import { runCell, type CellOutcome } from './cell.js';
import { gridCells, lrLabel, type Cell } from './grid.js';
import { baselines } from './baseline.js';
import { writeOutputs } from './outputs.js';
import type { CellResult } from './result.js';
import { Session } from './session.js';
import type { ExperimentSpec } from './spec.js';
import type { ExperimentConfig } from './flags.js';
import type { Communicator } from '../backend/mpi.js';
import { ColaError } from '../errors.js';

export interface ExperimentRun {
  cells: CellResult[];
  trained: number;
  skipped: number;
  stopped: boolean;
  files: string[];
}

/** The budget every method shares, in words (results.md, experiment.json). */
function budgetText(c: ExperimentConfig, maxLength: number): string {
  const r = c.run;
  const steps = r.maxSteps !== undefined ? `${r.maxSteps} optimizer steps` : `${r.epochs} epochs`;
  const evals = r.evalEvery > 0 ? `every ${r.evalEvery} steps` : 'every epoch';
  return (
    `${steps}, batch ${r.batchSize} × grad-accum ${r.gradAccum}, ${r.schedule} LR schedule, max length ${maxLength}; ` +
    `dev evaluated ${evals}${r.evalAtKnots ? ' and at knots' : ''}, best checkpoint by dev ${r.selectBy}` +
    (r.earlyStoppingPatience !== undefined ? `, early stopping after ${r.earlyStoppingPatience} evaluations without improvement` : '')
  );
}

function line(i: number, n: number, c: Cell, o: CellOutcome, seconds: number): string {
  const head = `[${i + 1}/${n}] ${c.task} ${c.method} lr=${lrLabel(c.lr)} seed=${c.seed}:`;
  if (o.status === 'stopped') return `${head} stopped at step ${o.steps} (checkpoint saved; rerun the same command to resume)`;
  const r = o.result;
  const m = r.metric;
  const text = `dev ${m} ${(r.dev.best.metrics[m] ?? NaN).toFixed(4)} (step ${r.dev.best.step}), test ${(r.test[m] ?? NaN).toFixed(4)}, ${r.steps} steps`;
  return o.status === 'skipped'
    ? `${head} finished before: ${text}`
    : `${head} ${text}, ${seconds.toFixed(1)} s${r.resumed ? ' (resumed)' : ''}`;
}

export function runExperiment(
  c: ExperimentConfig,
  spec: ExperimentSpec,
  opts: { quiet: boolean; shouldStop: () => boolean; comm?: Communicator | null },
): ExperimentRun {
  const out = c.exp.out!;
  const session = new Session(c);
  const grid = gridCells(
    spec.tasks.map((t) => t.name),
    spec.methods.map((m) => m.name),
    spec.lrs,
    spec.seeds,
  );
  const comm = opts.comm ?? null;
  const rank = comm?.rank ?? 0;
  const size = comm?.size ?? 1;
  const mine: RankShare = { cells: [], trained: 0, skipped: 0, stopped: false };
  for (const [i, cell] of grid.entries()) {
    if (i % size !== rank) continue;
    if (opts.shouldStop()) {
      mine.stopped = true;
      break;
    }
    const start = Date.now();
    const method = spec.methods.find((m) => m.name === cell.method)!;
    const task = spec.tasks.find((t) => t.name === cell.task)!;
    const o = runCell({ cell, out, config: c, method, task, session, shouldStop: opts.shouldStop });
    const where = size > 1 ? ` (rank ${rank})` : '';
    if (!opts.quiet) process.stderr.write(`cola experiment${where} ${line(i, grid.length, cell, o, (Date.now() - start) / 1000)}\n`);
    if (o.status === 'stopped') {
      mine.stopped = true;
      break;
    }
    mine.cells.push([i, o.result]);
    if (o.status === 'done') mine.trained++;
    else mine.skipped++;
  }
  const all = comm ? gatherShares(comm, mine) : mine;
  const run: ExperimentRun = {
    cells: all.cells.map(([, r]) => r),
    trained: all.trained,
    skipped: all.skipped,
    stopped: all.stopped,
    files: [],
  };
  if (rank !== 0) return run;
  const base = run.stopped ? new Map() : baselines(out, session, spec.tasks, spec.seeds);
  run.files = writeOutputs(out, spec, run.cells, {
    model: path.resolve(c.exp.model!),
    budget: budgetText(c, session.maxLength()),
    total: grid.length,
    base,
  });
  return run;
}

/** What one rank did: its finished cells with their grid index. */
interface RankShare {
  cells: [number, CellResult][];
  trained: number;
  skipped: number;
  stopped: boolean;
}

/** On rank 0, every rank's share merged in grid order (as one process would list them);
 * the other ranks get back their own share. */
function gatherShares(comm: Communicator, mine: RankShare): RankShare {
  const parts = comm.gatherBytes(new TextEncoder().encode(JSON.stringify(mine)), 0);
  if (!parts) return mine;
  const shares = parts.map((b, r) => {
    try {
      return JSON.parse(new TextDecoder().decode(b)) as RankShare;
    } catch {
      throw new ColaError(`cola experiment: rank ${r} sent unreadable results; rerun the same command (finished cells are kept)`);
    }
  });
  return {
    cells: shares.flatMap((s) => s.cells).sort((a, b) => a[0] - b[0]),
    trained: shares.reduce((n, s) => n + s.trained, 0),
    skipped: shares.reduce((n, s) => n + s.skipped, 0),
    stopped: shares.some((s) => s.stopped),
  };
}
