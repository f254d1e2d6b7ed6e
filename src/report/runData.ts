/** Read a run folder (config.json, metrics.jsonl, chain.json) into plain typed records.
 * Everything is optional: a run that crashed at step 3 or is still training must still
 * produce a report, so problems become warnings shown in the report, never exceptions. */
import * as fs from 'node:fs';
import * as path from 'node:path';

type Json = Record<string, unknown>;

export interface StepEvent {
  step: number;
  link?: number;
  epoch?: number;
  loss?: number;
  lr?: number;
  grad_norm?: number;
  tokens?: number;
  tokens_per_s?: number;
  elapsed_s?: number;
}

export interface EvalEvent {
  step: number;
  link?: number;
  /** Every numeric dev_* key of the event. */
  metrics: Record<string, number>;
  /** Every numeric test_* key, without the prefix (logged beside dev, never selected on). */
  test: Record<string, number>;
}

interface KnotEvent {
  step: number;
  link?: number;
  next_link?: number;
  rank?: number;
  next_rank?: number;
  delta_norm?: number;
  loss_before?: number;
  loss_after?: number;
}

interface DoneEvent {
  step?: number;
  elapsed_s?: number;
  final: Record<string, unknown>;
  /** set when early stopping ended the run (cola/earlyStop.ts) */
  earlyStop?: { step?: number; best_step?: number; patience?: number };
}

interface ChainLink extends Json {
  index: number;
  start?: number;
  end?: number;
  rank?: number;
  lr?: number;
}

interface ChainManifest extends Json {
  method?: string;
  links: ChainLink[];
  knots: number[];
}

export interface RunData {
  runDir: string;
  config: Json | null;
  chain: ChainManifest | null;
  steps: StepEvent[];
  evals: EvalEvent[];
  knots: KnotEvent[];
  done: DoneEvent | null;
  warnings: string[];
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readJson(file: string, warnings: string[]): Json | null {
  if (!fs.existsSync(file)) {
    warnings.push(`${path.basename(file)} is missing`);
    return null;
  }
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (isObject(v)) return v;
    warnings.push(`${path.basename(file)} does not hold a JSON object`);
  } catch (e) {
    warnings.push(`${path.basename(file)} is not valid JSON (${(e as Error).message})`);
  }
  return null;
}

/** Pick the listed keys that hold finite numbers. */
function numbers<K extends string>(o: Json, keys: readonly K[]): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const k of keys) {
    const v = num(o[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const STEP_KEYS = ['link', 'epoch', 'loss', 'lr', 'grad_norm', 'tokens', 'tokens_per_s', 'elapsed_s'] as const;
const KNOT_KEYS = ['link', 'next_link', 'rank', 'next_rank', 'delta_norm', 'loss_before', 'loss_after'] as const;

function devMetrics(o: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (k.startsWith('dev_') && num(v) !== undefined) out[k] = v as number;
  return out;
}

function testMetrics(o: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (k.startsWith('test_') && num(v) !== undefined) out[k.slice(5)] = v as number;
  return out;
}

function addEvent(run: RunData, e: Json): void {
  const step = num(e.step);
  if (e.event === 'done') {
    const stop = isObject(e.early_stop) ? numbers(e.early_stop, ['step', 'best_step', 'patience'] as const) : undefined;
    run.done = { step, elapsed_s: num(e.elapsed_s), final: isObject(e.final) ? e.final : {}, earlyStop: stop };
  } else if (step === undefined) return;
  else if (e.event === 'step') run.steps.push({ step, ...numbers(e, STEP_KEYS) });
  else if (e.event === 'eval') run.evals.push({ step, link: num(e.link), metrics: devMetrics(e), test: testMetrics(e) });
  else if (e.event === 'knot') run.knots.push({ step, ...numbers(e, KNOT_KEYS) });
}

function readMetrics(run: RunData, file: string): void {
  if (!fs.existsSync(file)) {
    run.warnings.push('metrics.jsonl is missing');
    return;
  }
  let bad = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const e: unknown = JSON.parse(line);
      if (isObject(e)) addEvent(run, e);
      else bad++;
    } catch {
      bad++; // typically the last line of a run killed mid-write
    }
  }
  if (bad) run.warnings.push(`metrics.jsonl: skipped ${bad} unreadable line(s)`);
}

function toChain(o: Json | null): ChainManifest | null {
  if (!o) return null;
  const links = (Array.isArray(o.links) ? o.links : []).filter(isObject).map((l, i) => ({ ...l, index: num(l.index) ?? i }));
  const knots = (Array.isArray(o.knots) ? o.knots : []).map(num).filter((k): k is number => k !== undefined);
  return { ...o, method: typeof o.method === 'string' ? o.method : undefined, links, knots };
}

export function readRun(runDir: string): RunData {
  const warnings: string[] = [];
  const run: RunData = {
    runDir,
    config: readJson(path.join(runDir, 'config.json'), warnings),
    chain: toChain(readJson(path.join(runDir, 'chain.json'), warnings)),
    steps: [],
    evals: [],
    knots: [],
    done: null,
    warnings,
  };
  readMetrics(run, path.join(runDir, 'metrics.jsonl'));
  return run;
}
