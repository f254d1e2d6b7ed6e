/** fineTune(): `cola train` as one function call. Options are the flags of `cola train`
 * in camelCase (cola/runFlags.ts: same defaults, same validation through
 * resolveRunConfig), and the run goes through the same trainRun, so a library run and a
 * CLI run with the same settings write the same run folder. */
import { isMainThread } from 'node:worker_threads';
import { mpiWorld, mpiWorldIfUp, type Communicator } from '../backend/mpi.js';
import { defaultsOf } from '../config/flags.js';
import { resolveRunConfig, type RunConfig } from '../cola/runConfig.js';
import { DATA_FLAGS, RUN_FLAGS, type DataFlags, type RunFlags } from '../cola/runFlags.js';
import type { DataSource } from '../data/taskData.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { ColaError } from '../errors.js';
import type { LoraConfig } from '../lora/config.js';
import type { CausalLM } from '../models/causalLM.js';
import { parallelOf } from '../train/distributed.js';
import type { RunEvent } from '../train/metricsLog.js';
import { trainRun, type FineTuneResult } from './trainRun.js';

export type { FineTuneResult } from './trainRun.js';

/** LoRA settings come as `lora` (PEFT's LoraConfig in camelCase), not as rank/alpha flags. */
type LoraFlag = 'rank' | 'alpha' | 'rslora' | 'targets' | 'targetRegex' | 'loraDropout' | 'loraInit' | 'useDora';
type RunOptions = Partial<Omit<RunFlags, 'out' | 'linkRanks' | 'linkLrs' | LoraFlag>>;
type DataOptions = Partial<Omit<DataFlags, 'boolqFromVal' | 'fewglue'>>;

export type FineTuneOptions = RunOptions &
  DataOptions & {
    model: CausalLM;
    tokenizer: TextTokenizer;
    /** the run folder (`cola train --out`) */
    outDir: string;
    /** COLA/ReLoRA rank per link (the last repeats) */
    linkRanks?: number[];
    /** peak learning rate per link (the last repeats) */
    linkLrs?: number[];
    /** the paper's tasks: 'official' splits (default), 'fewglue', or 'val' (BoolQ from val.jsonl) */
    source?: DataSource;
    /** LoRA settings over the paper's (r 8, alpha 16 on q_proj, v_proj) */
    lora?: Partial<LoraConfig>;
    /** every metrics.jsonl event (step, eval, knot, done) as it is written */
    onEvent?: (e: RunEvent) => void;
    /** polled after each step; true stops the run with a checkpoint (resume: true continues it) */
    shouldStop?: () => boolean;
    /** base_model_name_or_path in adapter_config.json (default: "unknown") */
    baseModel?: string;
    /** write report.html at the end (default true) */
    report?: boolean;
    /** Data parallel over the ranks of the `mpirun -np N node script.mjs` that started this
     * process (`cola train --distributed`, docs/DISTRIBUTED.md): `batchSize` stays the global
     * batch, every rank calls fineTune with the same options and its own copy of the model,
     * rank 0 alone writes `outDir`. Refused outside mpirun. `rankTimeout` applies only here. */
    distributed?: boolean;
  };

const OWN_KEYS = [
  'model',
  'tokenizer',
  'outDir',
  'linkRanks',
  'linkLrs',
  'source',
  'lora',
  'onEvent',
  'shouldStop',
  'baseModel',
  'report',
  'distributed',
];
const LORA_FLAGS: readonly string[] = ['rank', 'alpha', 'rslora', 'targets', 'targetRegex', 'loraDropout', 'loraInit', 'useDora'];

/** Fine-tune `model` in place (its targeted layers end up wrapped in the last link's
 * LoRA, earlier links merged into the weights) and write the run folder. */
export function fineTune(o: FineTuneOptions): FineTuneResult {
  const cfg = runConfig(o);
  const comm = o.distributed ? distributedWorld(cfg.rankTimeout ?? 0) : null;
  const baseModel = o.baseModel ?? 'unknown';
  try {
    return trainRun(cfg, {
      model: o.model,
      tokenizer: o.tokenizer,
      baseModel,
      onEvent: o.onEvent,
      shouldStop: o.shouldStop,
      report: o.report,
      parallel: parallelOf(comm),
    });
  } catch (e) {
    // as `cola train`: the message names the rank; the script exits non-zero, mpirun ends the job
    if (comm && e instanceof Error) e.message = `rank ${comm.rank} of ${comm.size} (${comm.host}): ${e.message}`;
    throw e;
  }
}

/** The job's communicator with the watchdog set. MPI can be initialised once a process, so
 * it stays up across fineTune calls and is finalised when the script ends well (a script
 * that fails exits without it: mpirun then ends the other ranks instead of waiting). */
function distributedWorld(rankTimeout: number): Communicator {
  const comm = mpiWorld({ by: 'fineTune({ distributed: true })', launch: 'node script.mjs' });
  comm.setTimeout(rankTimeout);
  if (!finalizeHooked && isMainThread) {
    finalizeHooked = true;
    process.once('exit', (code) => {
      if (code === 0) mpiWorldIfUp()?.finalize();
    });
  }
  return comm;
}
let finalizeHooked = false;

/** The RunConfig `cola train` would build from the same settings. */
export function runConfig(o: FineTuneOptions): RunConfig {
  const runKeys = Object.keys(RUN_FLAGS).filter((k) => k !== 'out' && !LORA_FLAGS.includes(k));
  const dataKeys = Object.keys(DATA_FLAGS).filter((k) => k !== 'boolqFromVal' && k !== 'fewglue');
  const allowed = new Set([...OWN_KEYS, ...runKeys, ...dataKeys]);
  const unknown = Object.keys(o).filter((k) => !allowed.has(k));
  if (unknown.length) throw new ColaError(`fineTune: unknown option(s) ${unknown.join(', ')}; see FineTuneOptions in docs/API.md`);
  const given = (keys: string[]) =>
    Object.fromEntries(
      keys.flatMap((k) => ((o as Record<string, unknown>)[k] === undefined ? [] : [[k, (o as Record<string, unknown>)[k]]])),
    );
  const run: RunFlags = {
    ...defaultsOf(RUN_FLAGS),
    ...given(runKeys),
    out: o.outDir,
    linkRanks: o.linkRanks?.map(String),
    linkLrs: o.linkLrs?.map(String),
  };
  const data: DataFlags = {
    ...defaultsOf(DATA_FLAGS),
    ...given(dataKeys),
    boolqFromVal: o.source === 'val',
    fewglue: o.source === 'fewglue',
  };
  return resolveRunConfig(run, data, { lora: o.lora, where: 'fineTune', distributed: o.distributed === true });
}
