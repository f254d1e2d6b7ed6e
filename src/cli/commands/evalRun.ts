/** `cola eval --run DIR`: evaluate a run with everything taken from its config.json (issue
 * 16: the dev score changed unless every sampling flag was repeated): the base model
 * (checked by its hash), the run's adapter, the task or data files and their sampling,
 * so dev and test are the run's own splits and the dev score is the one it logged. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '../../api/runRecord.js';
import { evaluateFiles } from '../../api/evaluateFiles.js';
import { withChatTemplate } from '../../data/chatTemplates.js';
import { dataFiles } from '../../data/formats.js';
import { ColaError } from '../../errors.js';
import type { Metrics } from '../../eval/evaluate.js';
import { readJsonObject } from '../../io/fileIo.js';
import { adapterUsesLoftq, loadPeftAdapter } from '../../lora/peft.js';
import { modelIdentity } from '../../models/modelIdentity.js';
import type { CausalLM } from '../../models/causalLM.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { prepareData, type PreparedData } from '../../train/prepare.js';
import type { OptionValues } from '../options.js';
import { loadCalibratedBase, loadModelAndTokenizer } from '../setup.js';

/** eval flags that choose data or its sampling: --run takes them from the run. */
const DATA_CHOICES = ['task', 'data-dir', 'boolq-from-val', 'fewglue', 'data-seed', 'num-train', 'num-dev', 'num-test', 'seed'];
/** how a --data file is read: with --run they apply to that file, without it the run's data has its own */
const FILE_CHOICES = ['max-length', 'skip-bad', 'chat-template'];

export interface RunEvaluation {
  /** the run's own split that was scored; null when --data files were (scored whole) */
  split: 'dev' | 'test' | null;
  adapter: string | null;
  metrics: Metrics;
}

export function evaluateRun(v: OptionValues): RunEvaluation {
  const runDir = v['run'] as string;
  // --data FILE: the run's model (base, quantization, adapter) scored on other files, whole
  const files = v['data'] as string | undefined;
  const given = [...DATA_CHOICES, ...(files === undefined ? FILE_CHOICES : [])].filter((k) => v[k] !== undefined && v[k] !== false);
  if (given.length)
    throw new ColaError(
      `--run takes the data and its sampling from the run's config.json; drop ${given.map((k) => `--${k}`).join(', ')} ` +
        '(or score other files with --run RUN --data FILE, or evaluate without --run)',
    );
  if (files !== undefined && v['split'] !== undefined)
    throw new ColaError(`--split chooses one of the run's own splits; --data ${files} is scored whole: drop --split`);
  if (files !== undefined) checkFiles(files);
  const file = path.join(runDir, 'config.json');
  if (!fs.existsSync(file)) throw new ColaError(`--run ${runDir}: no config.json there; ${notARun(runDir)}`);
  const record = readJsonObject(file) as unknown as RunRecord;
  const run = record.run;
  if (typeof run !== 'object' || run === null || typeof run.data !== 'object' || run.data === null)
    throw new ColaError(`${file}: not a cola run's config.json (no "run" settings)`);
  const full = run.method === 'full';
  // full fine-tuning writes the trained model itself; the others an adapter of the base model
  const modelDir = (v['model'] as string | undefined) ?? (full ? path.join(runDir, 'model') : record.model);
  if (typeof modelDir !== 'string' || modelDir === 'unknown')
    throw new ColaError(`${file}: records no base model folder (a fineTune run without baseModel); give --model DIR`);
  const dtype = (v['dtype'] as string | undefined) ?? record.dtype;
  // full fine-tuning's model/ holds weights only: the tokenizer is the base model's
  const tokenizerDir = full && !fs.existsSync(path.join(modelDir, 'tokenizer.json')) ? record.model : undefined;
  // issue 17: the base quantized as the run had it (full fine-tuning's model/ never is)
  const quantize = (v['quantize'] as string | undefined) ?? (full ? undefined : (record.quantize ?? undefined));
  // --double-quant given is taken; else the record's, unless --quantize overrides the record's
  const doubleQuant = v['double-quant'] === true || (v['quantize'] === undefined && !full && record.doubleQuant === true);
  // --quantize-calibration: the run's GPTQ codes, rebuilt from its own training data, unless --quantize overrides
  const recordedCalibration = typeof run.quantizeCalibration === 'number' ? run.quantizeCalibration : undefined;
  const calibration = v['quantize'] === undefined && !full ? recordedCalibration : undefined;
  // the run's own data: its splits, or the GPTQ calibration examples of its base
  if (files === undefined || calibration !== undefined) checkRecordedData(run.data, file, runDir);
  const prepare = (m: CausalLM, tok: TextTokenizer): PreparedData =>
    prepareData(run.data, withChatTemplate(tok, run.data.chatTemplate), {
      contextLength: m.dims.maxPositions,
      modelType: m.dims.modelType,
    });
  const flags = { ...v, dtype, quantize, 'double-quant': doubleQuant, model: modelDir };
  const calibrated = calibration !== undefined ? loadCalibratedBase(flags, calibration, prepare, tokenizerDir) : null;
  const adapter = full ? null : ((v['adapter'] as string | undefined) ?? path.join(runDir, 'adapter'));
  // a LoftQ adapter: the base loaded dense, its codes rebuilt by loadPeftAdapter
  const keepDense = adapter !== null && adapterUsesLoftq(adapter);
  const { model, tokenizer } = calibrated ?? loadModelAndTokenizer(flags, undefined, tokenizerDir, keepDense);
  if (!full && typeof record.modelHash === 'string' && modelIdentity(model) !== record.modelHash) {
    // issue 17: the hash covers a quantized base's codes, so another quantization is another base
    const calibrationFlag = (n: number | undefined): string => (n === undefined ? '' : ` --quantize-calibration ${n}`);
    const recorded = `--quantize ${record.quantize ?? 'none'}${record.doubleQuant ? ' --double-quant' : ''}${calibrationFlag(recordedCalibration)}`;
    const given = `--quantize ${quantize ?? 'none'}${doubleQuant ? ' --double-quant' : ''}${calibrationFlag(calibration)}`;
    if (given !== recorded)
      throw new ColaError(
        `--run ${runDir}: the run trained on its base loaded with ${recorded}, not ${given}: drop --quantize / --double-quant to evaluate it as ` +
          `it trained (to try its adapter on another quantization: cola eval --model ${modelDir} ${given} --adapter ${path.join(runDir, 'adapter')})`,
      );
    throw new ColaError(`--model ${modelDir}: is not the base model the run ${runDir} trained (its weights differ from the recorded hash)`);
  }
  if (adapter) loadPeftAdapter(model, adapter);
  if (files !== undefined) return { split: null, adapter, metrics: scoreFiles(model, tokenizer, files, v, run.data) };
  const data = calibrated ? calibrated.data : prepare(model, tokenizer);
  const split = (v['split'] as 'dev' | 'test' | undefined) ?? (data.hasSplit('test') ? 'test' : 'dev');
  if (!data.hasSplit(split)) throw new ColaError(`--run ${runDir}: the run has no ${split} split`);
  return { split, adapter, metrics: data.evaluate(model, split) };
}

/** The data the run recorded must still be there: checked before the (slower) model load,
 * so a run that cannot be replayed says which file or key and what to do. */
function checkRecordedData(d: RunRecord['run']['data'], file: string, runDir: string): void {
  const other = `or score the run on other files: cola eval --run ${runDir} --data FILE`;
  if (typeof d.task !== 'string' && typeof d.data !== 'string')
    throw new ColaError(
      `${file}: "run.data" names no task and no data file (a cola experiment cell written by an older cola): ` +
        `rerun the same cola experiment command to record it (finished cells are kept, not retrained), ${other}`,
    );
  const gone = (key: string, p: string | undefined): string[] =>
    p !== undefined && !fs.existsSync(p) ? [`"run.data.${key}" names ${p}`] : [];
  const missing = [
    ...(typeof d.data === 'string' ? dataFiles(d.data).flatMap((f) => gone('data', f)) : []),
    ...gone('devData', d.devData),
    ...(typeof d.task === 'string' ? gone('dataDir', d.dataDir) : []),
  ];
  if (missing.length)
    throw new ColaError(
      `${file}: ${missing.join(', ')}, which is not there any more: put it back at that path to evaluate the run on its own splits, ${other}`,
    );
}

/** --data's files exist (checked before the slower model load). */
export function checkFiles(flag: string): void {
  const files = dataFiles(flag);
  if (files.length === 0) throw new ColaError(`--data "${flag}": no file named; give FILE or FILE,FILE,...`);
  for (const f of files) if (!fs.existsSync(f)) throw new ColaError(`--data ${f}: file not found`);
}

/** --data files scored whole with the run's model (api/evaluateFiles.ts, as `cola eval
 * --data`): cut to --max-length, else the run's max length, never past the model's
 * context; the run's chat template unless --chat-template is given. */
function scoreFiles(model: CausalLM, tokenizer: TextTokenizer, flag: string, v: OptionValues, d: RunRecord['run']['data']): Metrics {
  const context = model.dims.maxPositions;
  const maxLength = Math.min((v['max-length'] as number | undefined) ?? d.maxLength ?? context, context);
  if (maxLength < 2) throw new ColaError(`--max-length must be at least 2, got ${maxLength}`);
  const tok = withChatTemplate(tokenizer, (v['chat-template'] as string | undefined) ?? d.chatTemplate);
  const metrics = evaluateFiles(model, tok, dataFiles(flag), {
    maxLength,
    skipBad: v['skip-bad'] as boolean | undefined,
    onSkipped: (file, count) => process.stderr.write(`cola eval: skipped ${count} bad line(s) of ${file}\n`),
    label: flag,
  });
  if (metrics['tokens'] === 0)
    throw new ColaError(
      `${flag}: nothing to evaluate: no token to predict (the text is empty after tokenization, or the chat template renders nothing)`,
    );
  return metrics;
}

/** What to give --run instead of a folder without config.json: one cell of an experiment. */
function notARun(dir: string): string {
  const generic = 'expected a cola train run folder or a cola experiment cell (EXP/runs/TASK/METHOD/lr-X/seed-N)';
  const exp = path.join(dir, 'experiment.json');
  if (!fs.existsSync(exp)) return generic;
  const cells = (readJsonObject(exp) as { cells?: { runDir?: unknown }[] }).cells;
  const first = Array.isArray(cells) ? cells.find((c) => typeof c?.runDir === 'string')?.runDir : undefined;
  return `it is a cola experiment folder: give one of its cells${typeof first === 'string' ? `, e.g. --run ${path.join(dir, first)}` : ' (runs/TASK/METHOD/lr-X/seed-N)'}`;
}
