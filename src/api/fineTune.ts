/** fineTune(): `cola train` as one function call. The defaults are the CLI's own (read
 * from its option specs in src/train/options.ts), and the run goes through the same
 * trainRun, so a library run and a CLI run with the same settings write the same run
 * folder (adapter/, chain.json, metrics.jsonl, report.html). */
import type { Method, RunConfig } from '../cola/run.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { ColaError } from '../errors.js';
import { validateLoraConfig, type LoraConfig } from '../lora/config.js';
import type { CausalLM } from '../models/causalLM.js';
import type { RunEvent } from '../train/metricsLog.js';
import { runConfigFrom, trainDefaults } from '../train/options.js';
import { trainRun, type FineTuneData, type FineTuneResult } from './trainRun.js';

export type { FineTuneData, FineTuneResult } from './trainRun.js';

export type FineTuneOptions = FineTuneData &
  Partial<Omit<RunConfig, 'lora' | 'outDir' | 'method'>> & {
    model: CausalLM;
    tokenizer: TextTokenizer;
    /** the run folder (`cola train --out`) */
    outDir: string;
    /** default 'cola' */
    method?: Method;
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
  };

const OWN_KEYS = ['model', 'tokenizer', 'outDir', 'method', 'lora', 'onEvent', 'shouldStop', 'baseModel', 'report'];
const DATA_KEYS = ['data', 'devData', 'task', 'dataDir', 'source', 'dataSeed', 'numTrain', 'numDev', 'numTest', 'maxLength', 'skipBad'];

/** Fine-tune `model` in place (its targeted layers end up wrapped in the last link's
 * LoRA, earlier links merged into the weights) and write the run folder. */
export function fineTune(o: FineTuneOptions): FineTuneResult {
  const cfg = runConfig(o);
  const baseModel = o.baseModel ?? 'unknown';
  return trainRun(cfg, {
    model: o.model,
    tokenizer: o.tokenizer,
    data: o,
    settings: { ...cfg, base_model: baseModel },
    baseModel,
    onEvent: o.onEvent,
    shouldStop: o.shouldStop,
    report: o.report,
  });
}

/** `cola train`'s defaults for `method`, overridden by the options given. */
export function runConfig(o: FineTuneOptions): RunConfig {
  const allowed = new Set([...OWN_KEYS, ...DATA_KEYS, ...Object.keys(runConfigFrom({ ...trainDefaults(), out: '.' }))]);
  const unknown = Object.keys(o).filter((k) => !allowed.has(k));
  if (unknown.length) throw new ColaError(`fineTune: unknown option(s) ${unknown.join(', ')}; see FineTuneOptions in docs/API.md`);
  const method = o.method ?? (trainDefaults()['method'] as Method);
  const base = runConfigFrom({ ...trainDefaults(), method, out: o.outDir });
  const given = Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k in base && k !== 'lora'));
  // A regex selects alone (as --target-regex overrides --targets): drop the default suffixes.
  const regexOnly = o.lora?.targetRegex !== undefined && o.lora.targets === undefined ? { targets: [] } : {};
  return {
    ...base,
    ...given,
    method,
    outDir: o.outDir,
    lora: validateLoraConfig({ ...base.lora, ...regexOnly, ...o.lora }, 'fineTune lora'),
  };
}
