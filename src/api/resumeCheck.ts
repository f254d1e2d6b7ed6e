/** `cola train --resume` checks what it resumes (issue 16): the new settings are compared
 * with the run's config.json, key by key, with the comparison `cola experiment` uses
 * (config/settingsDiff.ts). A change that would break the run (another lr, rank, data,
 * batch size, base model, --quantize, --double-quant or what the base holds quantized, ...) is refused with the list of differences; a safe one is
 * allowed and reported: checkpoint cadence, link adapters, gradient checkpointing (same
 * numbers), the backend, and a new budget (more or fewer steps) as long as the knots
 * already tied stay where they were. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseChainState } from '../cola/chainState.js';
import { planRun, type RunPlan } from '../cola/plan.js';
import type { RunConfig } from '../cola/runConfig.js';
import { formatChange, settingChanges, type SettingChange } from '../config/settingsDiff.js';
import { ColaError } from '../errors.js';
import { readJsonObject } from '../io/fileIo.js';
import { readCheckpointState } from '../train/checkpoint.js';
import type { RunRecord } from './runRecord.js';

/** Settings that do not change a single number of the run. */
const SAFE = new Set(['run.saveEvery', 'run.saveLinkAdapters', 'run.gradientCheckpointing', 'run.rankTimeout']);
/** The budget: allowed when the plan up to the checkpoint is unchanged (budgetProblem). */
const BUDGET = new Set(['run.budget.epochs', 'run.budget.maxSteps']);
/** Not settings: where the run lives, the model's path (its identity is modelHash), and
 * how many examples were cut (follows from the data and max length, compared already). */
const IGNORED = new Set(['run.outDir', 'run.resume', 'model', 'truncated']);

/** A key of IGNORED or inside one ("truncated.train"). */
function ignored(key: string): boolean {
  return [...IGNORED].some((k) => key === k || key.startsWith(`${k}.`));
}

export interface ResumeCheck {
  /** the allowed changes, one line each, for the user */
  notes: string[];
  /** the checkpoint is the run's last step and metrics.jsonl ends with its done record */
  finished: boolean;
  /** the done record of a finished run */
  done: Record<string, unknown> | null;
}

/** Compare `now` (the record the resumed run would write) with the run folder's
 * config.json and checkpoint; throws a ColaError listing every breaking difference. */
export function checkResume(runDir: string, now: RunRecord, plan: RunPlan): ResumeCheck {
  const file = path.join(runDir, 'config.json');
  if (!fs.existsSync(file))
    throw new ColaError(`${file}: missing, so --resume cannot check the run's settings; choose another --out to start afresh`);
  const old = readJsonObject(file);
  const notes: string[] = [];
  // issue 17: a record made before --quantize was recorded cannot say what it used
  if (!('quantize' in old)) {
    Object.assign(old, { quantize: now.quantize, quantizedLayers: now.quantizedLayers });
    notes.push('the run records no --quantize (made by an older cola): the base quantization is not checked');
  }
  if (!('doubleQuant' in old)) {
    Object.assign(old, { doubleQuant: now.doubleQuant });
    if (now.doubleQuant || old['quantize'] === 'nf4')
      notes.push('the run records no --double-quant (made by an older cola): the nf4 scales are not checked');
  }
  const ckpt = readCheckpointState(runDir);
  if (!ckpt) throw new ColaError(`${runDir}: --resume given but the run folder has no checkpoint`);
  const state = parseChainState(ckpt.state, ckpt.file);
  const changes = settingChanges(comparable(old), comparable(now as unknown as Record<string, unknown>)).filter((c) => !ignored(c.key));
  const refused: string[] = [];
  if (typeof old['modelHash'] !== 'string')
    notes.push('the run records no model hash (made by an older cola): the base model is not checked');
  // issue 17: the hash covers a quantized base's codes: another quantization (listed by
  // its own keys) changes it without the model being another one
  const requantized = changes.some((c) => /^(quantize|doubleQuant|quantizedLayers|run\.quantizeCalibration)\b/.test(c.key));
  for (const c of changes) {
    if (c.key === 'modelHash') {
      if (typeof old['modelHash'] === 'string' && !requantized)
        refused.push(`model: another base model (${String(now.model)} is not the model the run started from, ${String(old['model'])})`);
    } else if (SAFE.has(c.key)) notes.push(`${formatChange(c)} (no effect on the numbers)`);
    else if (c.key === 'backend') notes.push(`${formatChange(c)} (the same arithmetic up to rounding in the last bits)`);
    else if (!BUDGET.has(c.key)) refused.push(formatChange(c));
  }
  const budget = changes.filter((c) => BUDGET.has(c.key));
  if (refused.length === 0 && budget.length) {
    const oldPlan = planOf(file, now.run, budget, plan);
    const problem = budgetProblem(oldPlan, plan, state.step, state.links.length);
    if (problem) refused.push(`${budget.map(formatChange).join(', ')}: ${problem}`);
    else notes.push(budgetNote(budget, oldPlan, plan, state.step, now.run));
  } else if (state.step > plan.totalSteps)
    refused.push(`the checkpoint is at step ${state.step}, past this run's ${plan.totalSteps} steps`);
  if (refused.length)
    throw new ColaError(
      `${file}: --resume with other settings than the run's:\n  ${refused.join('\n  ')}\n` +
        "Resume with the run's own settings (they are in config.json: `cola train --config " +
        `${file} --out ${runDir} --resume\`), or choose another --out for a new run.`,
    );
  const done = state.step === plan.totalSteps ? doneRecord(runDir) : null;
  return { notes, finished: done !== null, done };
}

/** JSON-normalised (no undefined keys), as config.json holds it. */
function comparable(r: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
}

/** The old run's plan: the new config with the old budget (every other key agrees). */
function planOf(file: string, cfg: RunConfig, budget: SettingChange[], plan: RunPlan): RunPlan {
  const b = { ...cfg.budget };
  for (const c of budget) {
    const v = c.old;
    if (v !== undefined && (typeof v !== 'number' || !(v > 0)))
      throw new ColaError(`${file}: ${c.key} is ${JSON.stringify(v)}; expected a positive number`);
    if (c.key === 'run.budget.epochs') b.epochs = v as number;
    else b.maxSteps = v as number | undefined;
  }
  const microBatches = plan.stepsPerEpoch * cfg.budget.gradAccum;
  return planRun({ ...cfg, budget: b }, microBatches);
}

/** Why the new budget cannot continue this checkpoint, or null when it can: the knots
 * already tied must stay at their steps, and the live link must still hold the step. */
function budgetProblem(old: RunPlan, now: RunPlan, step: number, merged: number): string | null {
  if (step > now.totalSteps) return `the checkpoint is at step ${step}, past the new budget of ${now.totalSteps} steps`;
  for (let j = 0; j < merged; j++) {
    const [a, b] = [old.links[j], now.links[j]];
    if (!a || !b || a.end !== b.end)
      return (
        `link ${j + 1} was merged at step ${a?.end ?? '?'}, but the new budget puts that knot at ${b ? `step ${b.end}` : 'no step'} ` +
        '(knots spaced over the budget move with it; pin them with --knots to change the budget)'
      );
  }
  const live = now.links[merged];
  if (!live || (step === live.end && merged < now.links.length - 1))
    return `the new budget ends a link at the checkpoint's step ${step}, where the run tied no knot`;
  return null;
}

function budgetNote(budget: SettingChange[], old: RunPlan, now: RunPlan, step: number, cfg: RunConfig): string {
  const schedule =
    cfg.optim.schedule === 'constant' ? '' : `; the ${cfg.optim.schedule} LR schedule runs over ${now.totalSteps} steps from here on`;
  const knots = now.links.length > 1 ? `; links end at steps ${now.links.map((l) => l.end).join(', ')}` : '';
  return `${budget.map(formatChange).join(', ')}: allowed, the run goes on from step ${step} to step ${now.totalSteps} (was ${old.totalSteps})${schedule}${knots}`;
}

/** The last line of metrics.jsonl when it is the done record, else null. */
function doneRecord(runDir: string): Record<string, unknown> | null {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return null;
  const last = fs.readFileSync(file, 'utf8').trimEnd().split('\n').at(-1) ?? '';
  try {
    const e = JSON.parse(last) as Record<string, unknown>;
    return e['event'] === 'done' ? e : null;
  } catch {
    return null;
  }
}
