/** Early stopping on the dev metric (issue 18): the run stops once `patience` dev
 * evaluations in a row have not beaten the best `--select-by` value so far (HF's
 * EarlyStoppingCallback: a tie does not count as better).
 *
 * What stopping means for a chain (COLA, ReLoRA): the whole chain stops. The link being
 * trained ends at the stop step without a knot, links not yet started are never trained,
 * and the run is finished, not interrupted: `adapter/` is the chain as trained, the knots
 * so far plus the live link (one PEFT LoRA of rank Σ r_j over the links that trained),
 * `chain.json` lists only those links (the last one cut at the stop step), and `best/`
 * holds the best evaluation by `--select-by`, exported when it happened, exactly as in a
 * run that did not stop. The count of evaluations since the best, and the stop itself,
 * are part of the checkpoint: a resume continues the count, and resuming a run that
 * stopped early trains nothing.
 *
 * Data parallel (issue 19): rank 0 alone evaluates dev, so rank 0's metric decides; its
 * count and decision travel to every rank right after each evaluation (agreeOnEarlyStop),
 * and all ranks stop at the same step, where one process would. */
import type { Communicator } from '../backend/mpi.js';
import { ColaError } from '../errors.js';
import type { Link, RunPlan } from './plan.js';
import type { RunConfig } from './runConfig.js';

/** The stop, as recorded in metrics.jsonl's done event, chain.json and the checkpoint. */
export interface EarlyStop {
  /** the optimizer step the run stopped at */
  step: number;
  /** the step of the best evaluation (what best/ holds) */
  bestStep: number;
  patience: number;
}

/** Refuse patience that could never act: no dev split to evaluate, or fewer planned
 * evaluations than a stop needs (one to set the best, `patience` without improvement,
 * and a later one the stop would skip). Called before any file of the run is written. */
export function checkEarlyStopping(cfg: RunConfig, plan: RunPlan, hasDev: boolean): void {
  const patience = cfg.eval.earlyStoppingPatience;
  if (patience === undefined) return;
  if (!hasDev)
    throw new ColaError(
      `--early-stopping-patience ${patience} needs dev evaluations, but this run has no dev split: ` +
        'give --dev-data FILE (or a task with --num-dev above 0), or drop --early-stopping-patience',
    );
  const n = plan.evalSteps.length;
  if (n < patience + 2)
    throw new ColaError(
      `--early-stopping-patience ${patience} can never stop this run: it evaluates dev ${n} time(s) ` +
        `(steps ${plan.evalSteps.join(', ')}), and a stop needs ${patience + 2} (the best, ${patience} without improvement, one left to skip). ` +
        'Evaluate more often (--eval-every N) or lower the patience',
    );
}

/** Whether an evaluation at `step`, the `sinceBest`-th in a row without improvement,
 * stops the run (never at the last planned step: that is the run's natural end). */
export function shouldStopEarly(cfg: RunConfig, sinceBest: number, step: number, totalSteps: number): boolean {
  const patience = cfg.eval.earlyStoppingPatience;
  return patience !== undefined && sinceBest >= patience && step < totalSteps;
}

/** The links that trained in a run stopped at `step`: the last one cut there. */
export function trainedLinks(links: readonly Link[], step: number): Link[] {
  return links.filter((l) => l.start < step).map((l) => (l.end > step ? { ...l, end: step } : l));
}

/** Rank 0's early-stopping state on every rank (one small collective after each dev
 * evaluation): rank 0 puts its values in a zeroed buffer, the others zeros, so the sum is
 * rank 0's exactly. */
export function agreeOnEarlyStop(
  comm: Communicator,
  mine: { stop: EarlyStop | null; sinceBest: number },
): { stop: EarlyStop | null; sinceBest: number } {
  const a = new Float64Array(5);
  if (comm.rank === 0) a.set([mine.stop ? 1 : 0, mine.stop?.step ?? 0, mine.stop?.bestStep ?? 0, mine.stop?.patience ?? 0, mine.sinceBest]);
  comm.allreduceF64(a, 'early-stopping decision');
  const stop = a[0]! > 0 ? { step: a[1]!, bestStep: a[2]!, patience: a[3]! } : null;
  return { stop, sinceBest: a[4]! };
}
