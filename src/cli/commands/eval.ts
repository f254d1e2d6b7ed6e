import { ColaError } from '../../errors.js';
import { evaluateFiles } from '../../api/evaluateFiles.js';
import { dataFiles } from '../../data/formats.js';
import { withChatTemplate } from '../../data/chatTemplates.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import type { Metrics } from '../../eval/evaluate.js';
import { adapterUsesLoftq, loadPeftAdapter } from '../../lora/peft.js';
import type { CausalLM } from '../../models/causalLM.js';
import { DATA_FLAGS } from '../../cola/runFlags.js';
import { prepareData } from '../../train/prepare.js';
import type { Command } from '../command.js';
import { specsOf, type OptionValues } from '../options.js';
import { loadModelAndTokenizer, modelOptions } from '../setup.js';
import { checkFiles, evaluateRun } from './evalRun.js';

// train's data flags minus --dev-data: eval scores one file or one split.
const evalDataOptions = Object.fromEntries(Object.entries(specsOf(DATA_FLAGS)).filter(([k]) => k !== 'dev-data'));

export const evalCommand: Command = {
  name: 'eval',
  summary: "evaluate a model (optionally with an adapter) on one of the paper's tasks or a data file",
  usage:
    'cola eval (--run RUN_DIR [--data FILE] | --model DIR [--adapter DIR] (--task NAME --data-dir DIR | --data FILE.jsonl|.txt)) [--split dev|test] [--json]',
  options: {
    run: {
      type: 'string',
      meta: 'DIR',
      help: "evaluate a cola train run or a cola experiment cell: its base model, adapter, task or data and sampling from RUN_DIR/config.json (dev and test are the run's own splits; with --data, those files instead)",
    },
    ...modelOptions,
    adapter: { type: 'string', meta: 'DIR', help: 'PEFT adapter folder to apply (e.g. RUN_DIR/adapter)' },
    ...evalDataOptions,
    data: {
      type: 'string',
      meta: 'FILE[,FILE...]',
      help: 'evaluate these files as one split: JSONL (text, prompt/completion, chat -> loss; classification rows -> accuracy) or .txt corpora',
    },
    split: {
      type: 'string',
      choices: ['dev', 'test'],
      help: 'which split of the task to score (default test; with --run, test when the run has one, else dev; a --data file is scored whole)',
    },
    seed: { type: 'int', help: 'seed of the task sampling (as train --seed / --data-seed; default 0)' },
    json: { type: 'boolean', help: 'print one JSON object of metrics on stdout' },
  },
  run(v) {
    if (v['run'] !== undefined) return printRun(v);
    if (v['task'] && v['data']) throw new ColaError('give either --task NAME --data-dir DIR or --data FILE, not both');
    if (v['task'] && v['skip-bad'])
      throw new ColaError("--skip-bad applies to --data JSONL files; the paper's task files are read whole (drop --skip-bad)");
    if (!v['task'] && !v['data'])
      throw new ColaError('nothing to evaluate: give --task NAME --data-dir DIR, or --data FILE.jsonl (or .txt)');
    // Check the data files before the (slower) model load.
    if (v['data']) checkFiles(v['data'] as string);
    if (v['data'] !== undefined && v['split'] !== undefined)
      throw new ColaError(`--split chooses a split of --task; --data ${v['data'] as string} is scored whole: drop --split`);
    if (v['chat-template'] !== undefined && !v['data'])
      throw new ColaError('--chat-template applies to {"messages"} rows of --data; drop it');
    // a LoftQ adapter (init_lora_weights "loftq"): the base loaded dense, its codes rebuilt by loadPeftAdapter
    const loftq = v['adapter'] !== undefined && adapterUsesLoftq(v['adapter'] as string);
    const { model, tokenizer: folderTokenizer } = loadModelAndTokenizer(v, undefined, undefined, loftq);
    const tokenizer = withChatTemplate(folderTokenizer, v['chat-template'] as string | undefined);
    if (v['adapter']) loadPeftAdapter(model, v['adapter'] as string);
    const split = (v['split'] as 'dev' | 'test' | undefined) ?? 'test';
    // Sequences longer than the model's context cannot be scored: cut them to fit.
    const maxPositions = model.dims.maxPositions;
    const asked = v['max-length'] as number | undefined;
    if (asked !== undefined && asked > maxPositions)
      process.stderr.write(
        `cola eval: --max-length ${asked} is longer than the model's context (${maxPositions}); using ${maxPositions}\n`,
      );
    v = { ...v, 'max-length': Math.min(asked ?? maxPositions, maxPositions) };
    if ((v['max-length'] as number) < 2) throw new ColaError(`--max-length must be at least 2, got ${v['max-length'] as number}`);
    const metrics = v['data'] ? evalFiles(model, tokenizer, v['data'] as string, v) : evalTask(model, tokenizer, split, v);
    const where = v['data'] ? (v['data'] as string) : `${v['task'] as string} ${split}`;
    if (metrics['tokens'] === 0)
      throw new ColaError(
        `${where}: nothing to evaluate: no token to predict (the text is empty after tokenization, or the chat template or prompt format renders nothing)`,
      );
    const out = {
      ...(v['task'] ? { task: v['task'], split } : { data: v['data'] }),
      ...(v['adapter'] ? { adapter: v['adapter'] } : {}),
      ...metrics,
    };
    if (v['json']) process.stdout.write(JSON.stringify(out) + '\n');
    else process.stdout.write(`${where}: ${formatMetrics(metrics)}\n`);
    return 0;
  },
};

function printRun(v: OptionValues): number {
  const r = evaluateRun(v);
  const scored = r.split !== null ? { split: r.split } : { data: v['data'] };
  const out = { run: v['run'], ...scored, ...(r.adapter ? { adapter: r.adapter } : {}), ...r.metrics };
  if (v['json']) process.stdout.write(JSON.stringify(out) + '\n');
  else process.stdout.write(`${v['run'] as string} ${r.split ?? (v['data'] as string)}: ${formatMetrics(r.metrics)}\n`);
  return 0;
}

function formatMetrics(m: Metrics): string {
  return Object.entries(m)
    .map(([k, x]) => `${k} ${Number.isInteger(x) ? x : x.toFixed(4)}`)
    .join(', ');
}

function evalTask(model: CausalLM, tok: TextTokenizer, split: 'dev' | 'test', v: OptionValues): Metrics {
  const seed = (v['seed'] as number | undefined) ?? 0;
  const data = prepareData(
    {
      task: v['task'] as string,
      dataDir: v['data-dir'] as string | undefined,
      source: v['boolq-from-val'] ? 'val' : v['fewglue'] ? 'fewglue' : undefined,
      seed: (v['data-seed'] as number | undefined) ?? seed,
      numTrain: v['num-train'] as number | undefined,
      numDev: v['num-dev'] as number | undefined,
      numTest: v['num-test'] as number | undefined,
      maxLength: v['max-length'] as number,
    },
    tok,
    { contextLength: model.dims.maxPositions, modelType: model.dims.modelType },
  );
  if (!data.hasSplit(split)) throw new ColaError(`--task ${v['task'] as string}: the ${split} split is empty with these sampling settings`);
  return data.evaluate(model, split);
}

/** User files are scored whole, together, as the requested split (the test set by
 * default): see api/evaluateFiles.ts. */
function evalFiles(model: CausalLM, tok: TextTokenizer, flag: string, v: OptionValues): Metrics {
  return evaluateFiles(model, tok, dataFiles(flag), {
    maxLength: v['max-length'] as number,
    skipBad: v['skip-bad'] as boolean | undefined,
    onSkipped: (file, count) => process.stderr.write(`cola eval: skipped ${count} bad line(s) of ${file}\n`),
    label: flag,
  });
}
