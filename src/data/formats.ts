/**
 * The JSONL row formats users bring, and their conversion to tokenized examples:
 *  - {"text"}: loss on every token;
 *  - {"prompt","completion"}: loss on the completion tokens only;
 *  - {"messages":[{role,content}]}: rendered with the chat template, loss on assistant turns;
 *  - {"prompt","candidates":[...],"label"}: multiple choice, label = index or candidate string.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';
import { chatToLm, type ChatTemplateFn } from './chat.js';
import type { ClassificationExample, LmExample, RenderedChoice } from './examples.js';
import { preview, readJsonl, type JsonObject } from './jsonl.js';
import type { ChatMessage, TextTokenizer } from './tokenizer.js';
import { tokenizeChoice } from './verbalize.js';

export type RowFormat = 'text' | 'prompt_completion' | 'chat' | 'classification';

const SHAPES: Record<RowFormat, string> = {
  text: 'a JSON object with "text"',
  prompt_completion: 'a JSON object with "prompt" and "completion"',
  chat: 'a JSON object with "messages": [{"role", "content"}, ...]',
  classification: 'a JSON object with "prompt", "candidates" (array of strings) and "label"',
};

/** The format a row looks like, or null. */
export function detectFormat(v: JsonObject): RowFormat | null {
  if (Array.isArray(v.messages)) return 'chat';
  if (typeof v.prompt === 'string' && Array.isArray(v.candidates)) return 'classification';
  if (typeof v.prompt === 'string' && typeof v.completion === 'string') return 'prompt_completion';
  if (typeof v.text === 'string') return 'text';
  return null;
}

function isMessage(m: unknown): m is ChatMessage {
  return (
    typeof m === 'object' && m !== null && typeof (m as ChatMessage).role === 'string' && typeof (m as ChatMessage).content === 'string'
  );
}

/** Label as index: a number in range or one of the candidate strings (compared trimmed). */
function labelIndex(v: JsonObject): number | null {
  const cands = v.candidates as unknown[];
  if (typeof v.label === 'number') return Number.isInteger(v.label) && v.label >= 0 && v.label < cands.length ? v.label : null;
  if (typeof v.label === 'string') {
    const i = cands.findIndex((c) => typeof c === 'string' && c.trim() === (v.label as string).trim());
    return i >= 0 ? i : null;
  }
  return null;
}

/** Null when `v` is a valid row of `format` (its detected format), else what was expected and found. */
function checkRow(v: JsonObject, format: RowFormat): string | null {
  const bad = `expected ${SHAPES[format]}, found ${preview(v)}`;
  if (format === 'chat' && !(v.messages as unknown[]).every(isMessage)) return `${bad} (every message needs string "role" and "content")`;
  if (format === 'classification') {
    const c = v.candidates as unknown[];
    if (c.length < 2 || !c.every((x) => typeof x === 'string')) return `${bad} (need at least 2 string candidates)`;
    if (labelIndex(v) === null) return `${bad} (label ${JSON.stringify(v.label)} is neither a candidate index nor a candidate string)`;
  }
  return null;
}

function rowToChoice(v: JsonObject): RenderedChoice {
  return { prompt: v.prompt as string, candidates: v.candidates as string[], label: labelIndex(v)! };
}

export interface LmOptions {
  /** Append EOS after text / completion so the model learns to stop (default true). */
  appendEos?: boolean;
  addBos?: boolean;
  chatTemplate?: ChatTemplateFn;
}

function withEos(tok: TextTokenizer, ids: number[], mask: number[], on: boolean): void {
  if (on && tok.eosId !== null) {
    ids.push(tok.eosId);
    mask.push(1);
  }
}

export function textToLm(tok: TextTokenizer, text: string, opts: LmOptions = {}): LmExample {
  const addBos = opts.addBos ?? true;
  const ids = tok.encode(text, { addBos });
  // BOS itself is never a target: nothing precedes it.
  const lossMask = ids.map((id, i) => (i === 0 && addBos && id === tok.bosId ? 0 : 1));
  withEos(tok, ids, lossMask, opts.appendEos ?? true);
  return { ids, lossMask, text };
}

/** The concatenated text is tokenized whole, as the model will see prompt + completion
 * at inference: encoding the completion on its own would give SentencePiece tokenizers a
 * stray word-start piece ("▁") between the two. The loss starts where the prompt's own
 * tokens end; when a token straddles the boundary (the tokenizer merged the prompt's
 * last characters with the completion's first) it starts at that token, so every
 * completion character is still predicted. (TRL's SFT trainer masks the same way.) */
export function promptCompletionToLm(tok: TextTokenizer, prompt: string, completion: string, opts: LmOptions = {}): LmExample {
  const addBos = opts.addBos ?? true;
  const p = tok.encode(prompt, { addBos });
  const ids = tok.encode(prompt + completion, { addBos });
  let shared = 0;
  while (shared < p.length && shared < ids.length && p[shared] === ids[shared]) shared++;
  const lossMask = ids.map((_, i) => (i >= shared ? 1 : 0));
  withEos(tok, ids, lossMask, opts.appendEos ?? true);
  return { ids, lossMask, text: prompt + completion };
}

function rowToLm(tok: TextTokenizer, v: JsonObject, format: RowFormat, opts: LmOptions & { where?: string } = {}): LmExample {
  if (format === 'text') return textToLm(tok, v.text as string, opts);
  if (format === 'prompt_completion') return promptCompletionToLm(tok, v.prompt as string, v.completion as string, opts);
  if (format === 'chat')
    return chatToLm(tok, v.messages as ChatMessage[], { template: opts.chatTemplate, addBos: opts.addBos, where: opts.where });
  throw new ColaError(`${opts.where ?? 'row'}: classification rows are not LM examples; train them with the classification objective`);
}

export interface LoadedDataset {
  /** The format of the rows when they all share one, else of the first row (see `formats`). */
  format: RowFormat;
  /** Rows per format: one file may mix formats, each row is detected on its own (issue 16). */
  formats: Partial<Record<RowFormat, number>>;
  lm: LmExample[];
  classification: ClassificationExample[];
  /** Lines skipped by skipBad. */
  skipped: number;
  skippedReasons: string[];
  /** "FILE line N" of the first classification row, for errors where it cannot be used. */
  firstClassification?: string;
}

export interface LoadOptions extends LmOptions {
  /** Force one format for every row; default: each row's own (detectFormat). */
  format?: RowFormat;
  skipBad?: boolean;
}

const ANY_SHAPE = `one of: ${Object.values(SHAPES).join('; ')}`;

/** A row's problem: a bad row (skipBad may drop it), or a valid row of a format the
 * caller does not take, which skipBad must not silently drop. */
function rowProblem(v: JsonObject, forced: RowFormat | undefined): string | { message: string; skippable: false } | null {
  const found = detectFormat(v);
  if (found === null) return `expected ${forced ? SHAPES[forced] : ANY_SHAPE}, found ${preview(v)}`;
  if (forced && found !== forced) {
    return {
      message: `this is a valid ${found} row, but the format is forced to ${forced} (expected ${SHAPES[forced]})`,
      skippable: false,
    };
  }
  return checkRow(v, found);
}

/** Reads one JSONL file into tokenized examples; each row may have its own format. */
export function loadJsonlDataset(file: string, tok: TextTokenizer, opts: LoadOptions = {}): LoadedDataset {
  const res = readJsonl(file, { skipBad: opts.skipBad, validate: (v) => rowProblem(v, opts.format) });
  if (res.rows.length === 0) throw new ColaError(noRows(file, res.skipped));
  const first = opts.format ?? detectFormat(res.rows[0]!.value)!;
  const out: LoadedDataset = {
    format: first,
    formats: {},
    lm: [],
    classification: [],
    skipped: res.skipped,
    skippedReasons: res.skippedReasons,
  };
  for (const r of res.rows) {
    const where = `${file} line ${r.line}`;
    const fmt = detectFormat(r.value)!;
    out.formats[fmt] = (out.formats[fmt] ?? 0) + 1;
    if (fmt === 'classification') {
      out.firstClassification ??= where;
      out.classification.push(tokenizeChoice(tok, rowToChoice(r.value), { addBos: opts.addBos, where }));
    } else out.lm.push(rowToLm(tok, r.value, fmt, { ...opts, where }));
  }
  return out;
}

/** `--data a.jsonl,b.jsonl`: the files of a data flag (comma-separated, blanks dropped). */
export function dataFiles(flag: string): string[] {
  return flag
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
}

/** A data flag's files made absolute, comma-joined again (what a run records). */
export function absoluteDataFiles(flag: string): string {
  return dataFiles(flag)
    .map((f) => path.resolve(f))
    .join(',');
}

function noRows(file: string, skipped: number): string {
  const why =
    skipped > 0 ? `all ${skipped} non-blank lines were bad and skipped by --skip-bad` : 'the file is empty or holds only blank lines';
  return `${file}: nothing to train or evaluate on (${why}); give a JSONL file with one JSON object per line, such as {"text": "..."}`;
}

/** A .txt corpus fits in one JavaScript string: V8 caps strings near 2^29 characters. */
const MAX_TEXT_BYTES = 512 << 20;

/** Read a plain-text corpus (`--data FILE.txt`): bounded in size, BOM dropped, and an
 * empty or blank file is an error here rather than an empty run later. */
export function readTextCorpus(file: string): string {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    throw new ColaError(`cannot read ${file}: ${(e as Error).message}. Check the path given to --data.`);
  }
  if (size > MAX_TEXT_BYTES) {
    throw new ColaError(`${file}: ${size} bytes is over the ${MAX_TEXT_BYTES}-byte limit for a .txt corpus; split it into several files`);
  }
  let text = fs.readFileSync(file, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') {
    throw new ColaError(
      `${file}: nothing to train or evaluate on (the file is empty or holds only whitespace); give a text file with the corpus`,
    );
  }
  return text;
}
