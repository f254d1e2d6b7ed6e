import { dataFiles } from '../../data/formats.js';
import { openGgufLlama } from '../../io/gguf/ggufLlama.js';
import { isGgufFile } from '../../io/gguf/ggufPath.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../errors.js';
import { chatTemplateProblem, CHAT_TEMPLATE_NAMES, withChatTemplate } from '../../data/chatTemplates.js';
import { taskSummary } from '../../data/summary.js';
import { readJsonObject } from '../../io/fileIo.js';
import { loadTokenizer } from '../../io/tokenizer.js';
import { LOSS_CLOSE, LOSS_OPEN, previewFile, type FilePreview } from '../../train/dataPreview.js';
import type { Command } from '../command.js';
import type { OptionValues } from '../options.js';

export const dataCommand: Command = {
  name: 'data',
  summary: "preview a data file as the trainer sees it (rendered rows, loss tokens, truncation), or a paper task's splits",
  usage:
    'cola data --data FILE[,FILE...] --model DIR [--show N] [--chat-template NAME|FILE] [--max-length N] [--json]\n' +
    '       cola data --task NAME --data-dir DIR [--seed S] [--show N] [--boolq-from-val | --fewglue] [--json]',
  options: {
    data: {
      type: 'string',
      meta: 'FILE[,FILE...]',
      help: 'training files: JSONL (text, prompt/completion, messages, classification) or .txt; each previewed in turn',
    },
    model: { type: 'string', meta: 'DIR', help: 'model folder whose tokenizer (and context length) --data is read with' },
    'chat-template': {
      type: 'string',
      meta: 'NAME|FILE',
      help: `chat template for {"messages"} rows instead of the tokenizer's: ${CHAT_TEMPLATE_NAMES.join(', ')}, or a Jinja file`,
    },
    'max-length': { type: 'int', help: "tokens per sequence, as cola train --max-length (default: the model's context)" },
    'skip-bad': { type: 'boolean', help: 'skip malformed JSONL lines (and report how many) instead of stopping' },
    task: { type: 'string', meta: 'NAME', help: "one of the paper's tasks: sst2, rte, cb, boolq, wsc, wic, multirc, copa" },
    'data-dir': { type: 'string', meta: 'DIR', help: 'folder holding the task files (SST-2/, RTE/, ...)' },
    seed: { type: 'int', default: 0, help: 'seed of the MeZO train/dev/test sampling' },
    show: {
      type: 'int',
      default: 0,
      help: `also print the first N rows (--data: rendered, loss tokens in ${LOSS_OPEN}...${LOSS_CLOSE}; --task: prompts with candidates and label)`,
    },
    'boolq-from-val': { type: 'boolean', help: 'BoolQ: carve train/dev/test disjointly from val.jsonl' },
    fewglue: { type: 'boolean', help: 'use the FewGLUE 32-shot train/dev32 splits' },
    'num-train': { type: 'int', help: 'training examples sampled (MeZO: 1000)' },
    'num-dev': { type: 'int', help: 'dev examples sampled (MeZO: 500, CB/COPA 100)' },
    'num-test': { type: 'int', help: 'test examples (MeZO: up to 1000)' },
    json: { type: 'boolean', help: 'print one JSON object on stdout' },
  },
  run(v) {
    const show = v['show'] as number;
    if (show < 0) throw new ColaError(`--show must be >= 0, got ${show}`);
    if (v['data'] !== undefined) return fileData(v, show);
    if (v['task'] === undefined || v['data-dir'] === undefined)
      throw new ColaError('give --data FILE --model DIR (a data file), or --task NAME --data-dir DIR (a paper task)');
    const fileOnly = ['model', 'chat-template', 'max-length', 'skip-bad'].filter((k) => v[k] !== undefined && v[k] !== false);
    if (fileOnly.length) throw new ColaError(`${fileOnly.map((k) => `--${k}`).join(', ')} apply to --data FILE; drop them for --task`);
    if (v['boolq-from-val'] && v['fewglue']) throw new ColaError('--boolq-from-val and --fewglue choose different splits: give one');
    const s = taskSummary(v['task'] as string, v['data-dir'] as string, v['seed'] as number, show, {
      source: v['boolq-from-val'] ? 'val' : v['fewglue'] ? 'fewglue' : undefined,
      numTrain: v['num-train'] as number | undefined,
      numDev: v['num-dev'] as number | undefined,
      numEval: v['num-test'] as number | undefined,
    });
    if (v['json']) {
      process.stdout.write(JSON.stringify(s) + '\n');
      return 0;
    }
    const lines = [
      `${s.task} (seed ${s.seed}, source ${s.source}): train ${s.train}, dev ${s.dev}, test ${s.test} (available: train ${s.available.train}, val ${s.available.val})`,
      ...(s.examples ?? []).flatMap((e, i) => [
        `--- example ${i} (label ${e.label}: ${JSON.stringify(e.candidates[e.label])})`,
        e.prompt,
        `candidates: ${e.candidates.map((c) => JSON.stringify(c)).join(' | ')}`,
      ]),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};

const TASK_ONLY = ['task', 'data-dir', 'boolq-from-val', 'fewglue', 'num-train', 'num-dev', 'num-test'];

/** --data FILE[,FILE...] --model DIR: each file through the tokenizer, as `cola train`
 * reads it (one preview per file, in the order given: one JSON line each with --json). */
function fileData(v: OptionValues, show: number): number {
  const files = dataFiles(v['data'] as string);
  const dir = v['model'] as string | undefined;
  const template = v['chat-template'] as string | undefined;
  const problems = [
    ...TASK_ONLY.filter((k) => v[k] !== undefined && v[k] !== false).map((k) => `--${k} applies to --task; drop it for --data`),
    ...(dir === undefined ? ['--model DIR is required with --data (its tokenizer renders and counts the tokens)'] : []),
    ...(dir !== undefined && !fs.existsSync(dir) ? [`--model ${dir}: folder not found`] : []),
    ...(files.length === 0 ? [`--data "${v['data'] as string}": no file named; give FILE or FILE,FILE,...`] : []),
    ...files.filter((f) => !fs.existsSync(f)).map((f) => `--data ${f}: file not found`),
    ...(template !== undefined && chatTemplateProblem(template) ? [chatTemplateProblem(template)!] : []),
  ];
  if (problems.length) throw new ColaError(problems.length === 1 ? problems[0]! : '\n  ' + problems.join('\n  '));
  const tok = withChatTemplate(loadTokenizer(dir!), template);
  const context = contextLength(dir!);
  const asked = v['max-length'] as number | undefined;
  const maxLength = Math.min(asked ?? context, context);
  if (asked !== undefined && asked > context)
    process.stderr.write(`cola data: --max-length ${asked} is longer than the model's context (${context}); using ${context}\n`);
  const previews = files.map((file) => previewFile(file, tok, { maxLength, show, skipBad: v['skip-bad'] as boolean | undefined }));
  const limit = asked !== undefined && asked < context ? '--max-length' : "the model's context";
  if (v['json']) process.stdout.write(previews.map((p) => JSON.stringify(p) + '\n').join(''));
  else process.stdout.write(previews.map((p) => previewText(p, limit)).join('\n\n') + '\n');
  return 0;
}

/** The model's context from config.json (the key each family reads), without loading weights. */
function contextLength(dir: string): number {
  if (isGgufFile(dir)) return openGgufLlama(dir).config['max_position_embeddings'] as number;
  const file = path.join(dir, 'config.json');
  const c = fs.existsSync(file) ? readJsonObject(file, 16 << 20) : {};
  const n = [c['max_position_embeddings'], c['n_positions'], c['n_ctx']].find((x) => Number.isInteger(x) && (x as number) >= 2);
  return (n as number | undefined) ?? 2048;
}

export function previewText(p: FilePreview, limit: string): string {
  const kind = p.format === 'txt' ? '.txt corpus in windows' : `${p.format} rows`;
  const lines = [
    `${p.file}: ${p.rows} ${kind}${p.skipped ? ` (${p.skipped} bad line(s) skipped)` : ''}; ` +
      `${p.tokens} tokens, ${p.lossTokens} with loss; ` +
      `${p.truncated} row(s) longer than ${p.maxLength} tokens (${limit}) are left-truncated, start token kept`,
  ];
  if (p.format === 'chat') lines.push('chat rows: loss on the assistant turns only (with their end-of-turn marker)');
  if (p.examples.length) lines.push(`loss tokens are shown inside ${LOSS_OPEN}...${LOSS_CLOSE}`);
  for (const e of p.examples) {
    lines.push(`--- row ${e.row}: ${e.tokens} tokens, ${e.lossTokens} with loss${e.cut ? `; first ${e.cut} tokens cut` : ''}`);
    lines.push(e.marked);
  }
  return lines.join('\n');
}
