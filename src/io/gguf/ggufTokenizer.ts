/** GGUF's `tokenizer.ggml.*` metadata <-> a Hugging Face tokenizer folder, for llama
 * (SentencePiece BPE with byte fallback) vocabularies: `tokens`, `scores` (a higher score
 * merges first) and `token_type` (1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte).
 * Reading reuses the llama2.c converter's tokenizer.json (merges ranked by score, as
 * transformers' SentencePiece converter does); writing derives each piece's score from the
 * rank of the first merge that makes it, which keeps the merge order. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../errors.js';
import { readJsonObject } from '../fileIo.js';
import { toHfTokenizerConfig, toHfTokenizerJson } from '../llama2cTokenizer.js';
import { isGgufFile } from './ggufPath.js';
import { metaValue, readGgufHeader, type GgufFile, type GgufValue } from './ggufReader.js';
import { GgufValueType } from './ggufTypes.js';

export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

const SPECIALS = ['<unk>', '<s>', '</s>'];
const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

export interface HfTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
}

function stringArray(g: GgufFile, key: string): string[] {
  const v = g.metadata.get(key);
  if (!v || v.type !== GgufValueType.ARRAY || v.itemType !== GgufValueType.STRING) {
    throw new ColaError(
      `${g.path}: metadata "${key}" must be an array of strings${v ? '' : ' (it is missing)'}; the file has no usable tokenizer`,
    );
  }
  return v.value as string[];
}

function numberArray(g: GgufFile, key: string, n: number): number[] | null {
  const v = g.metadata.get(key);
  if (!v) return null;
  if (v.type !== GgufValueType.ARRAY || v.value.some((x) => typeof x !== 'number') || v.value.length !== n) {
    throw new ColaError(`${g.path}: metadata "${key}" must be an array of ${n} numbers (one per token)`);
  }
  return v.value as number[];
}

/** tokenizer.json + tokenizer_config.json + generation_config.json from the metadata. */
export function ggufToHfTokenizer(g: GgufFile, contextLength?: number): HfTokenizerFiles {
  const model = metaValue(g, 'tokenizer.ggml.model', 'string');
  if (model !== 'llama') {
    throw new ColaError(
      `${g.path}: tokenizer.ggml.model is ${JSON.stringify(model ?? null)}; cola reads the "llama" (SentencePiece) GGUF tokenizer. Use the model's Hugging Face tokenizer.json instead.`,
    );
  }
  const tokens = stringArray(g, 'tokenizer.ggml.tokens');
  const scores = numberArray(g, 'tokenizer.ggml.scores', tokens.length) ?? tokens.map(() => 0);
  checkLayout(g, tokens);
  const pieces = tokens.map((t, id) => (id < 3 ? t : t.replaceAll('\u2581', ' ')));
  const seen = new Map<string, number>();
  pieces.forEach((p, id) => {
    if (seen.has(p))
      throw new ColaError(`${g.path}: tokenizer.ggml.tokens has ${JSON.stringify(tokens[id])} twice (ids ${seen.get(p)} and ${id})`);
    seen.set(p, id);
  });
  const tokenizerJson = toHfTokenizerJson({ maxTokenLength: 0, pieces, scores: Float32Array.from(scores) });
  const tokenizerConfig = toHfTokenizerConfig(contextLength);
  const addBos = metaValue(g, 'tokenizer.ggml.add_bos_token', 'boolean');
  const addEos = metaValue(g, 'tokenizer.ggml.add_eos_token', 'boolean');
  if (addBos !== undefined) tokenizerConfig['add_bos_token'] = addBos;
  if (addEos !== undefined) tokenizerConfig['add_eos_token'] = addEos;
  const template = metaValue(g, 'tokenizer.chat_template', 'string');
  if (template !== undefined) tokenizerConfig['chat_template'] = template;
  return { tokenizerJson, tokenizerConfig, generationConfig: { bos_token_id: 1, eos_token_id: 2 } };
}

/** tokenizer.json hard-codes Llama 2's layout: <unk> <s> </s>, then 256 byte tokens. */
function checkLayout(g: GgufFile, tokens: string[]): void {
  const problems: string[] = [];
  if (tokens.length < 259) problems.push(`only ${tokens.length} tokens`);
  SPECIALS.forEach((s, id) => {
    if (tokens[id] !== s) problems.push(`token ${id} is ${JSON.stringify(tokens[id])}, expected ${s}`);
  });
  for (const [key, want] of [
    ['unknown', 0],
    ['bos', 1],
    ['eos', 2],
  ] as const) {
    const v = metaValue(g, `tokenizer.ggml.${key}_token_id`, 'number');
    if (v !== undefined && v !== want) problems.push(`tokenizer.ggml.${key}_token_id is ${v}, expected ${want}`);
  }
  const badByte = Array.from({ length: 256 }, (_, b) => b).find((b) => tokens[3 + b] !== byteToken(b));
  if (badByte !== undefined)
    problems.push(`token ${3 + badByte} is ${JSON.stringify(tokens[3 + badByte])}, expected ${byteToken(badByte)}`);
  if (problems.length) {
    throw new ColaError(
      `${g.path}: cola converts llama GGUF vocabularies laid out as Llama 2's (<unk>, <s>, </s>, then the byte tokens <0x00>..<0xFF>); here ${problems.slice(0, 4).join('; ')}`,
    );
  }
}

/** The `tokenizer.ggml.*` metadata of a Hugging Face llama tokenizer (BPE + byte fallback). */
export function hfToGgufTokenizer(
  tokenizerJson: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown>,
  where: string,
): [string, GgufValue][] {
  const model = tokenizerJson['model'] as { type?: unknown; vocab?: unknown; merges?: unknown; byte_fallback?: unknown } | undefined;
  if (!model || model.type !== 'BPE' || model.byte_fallback !== true || typeof model.vocab !== 'object' || !Array.isArray(model.merges)) {
    throw new ColaError(
      `${where}: GGUF export writes llama (SentencePiece) tokenizers: a BPE tokenizer.json with byte_fallback, vocab and merges; this one is ${JSON.stringify(model?.type ?? null)}${model?.byte_fallback === true ? '' : ' without byte_fallback'}`,
    );
  }
  // the model's vocab, then added tokens (a chat model's extra specials) at their ids
  const entries: [string, unknown][] = Object.entries(model.vocab as Record<string, unknown>);
  for (const t of (tokenizerJson['added_tokens'] as { id?: unknown; content?: unknown }[] | undefined) ?? []) {
    if (typeof t.content === 'string' && !(t.content in (model.vocab as object))) entries.push([t.content, t.id]);
  }
  const n = entries.length;
  const tokens: string[] = new Array(n);
  for (const [piece, id] of entries) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= n || tokens[id as number] !== undefined) {
      throw new ColaError(`${where}: the token ids (vocab and added_tokens) must be 0..${n - 1}, each once; "${piece}" has ${String(id)}`);
    }
    tokens[id as number] = piece;
  }
  const idOf = new Map(tokens.map((t, id) => [t, id]));
  const scores = new Float32Array(n);
  const scored = new Set<number>();
  (model.merges as unknown[]).forEach((m, rank) => {
    const [a, b] = Array.isArray(m) ? (m as string[]) : String(m).split(' ');
    const id = idOf.get(`${a}${b}`);
    if (id !== undefined && !scored.has(id)) {
      scored.add(id);
      scores[id] = -rank - 1;
    }
  });
  const special = new Set<number>();
  for (const t of (tokenizerJson['added_tokens'] as { id?: unknown; special?: unknown }[] | undefined) ?? []) {
    if (t.special === true && typeof t.id === 'number') special.add(t.id);
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : ((v as { content?: string } | null)?.content ?? undefined));
  const idOfToken = (key: string): number | undefined => {
    const t = text(tokenizerConfig[key]);
    return t === undefined ? undefined : idOf.get(t);
  };
  const unk = idOf.get(String((model as { unk_token?: unknown }).unk_token ?? '<unk>'));
  const types = tokens.map((t, id) =>
    id === unk
      ? TOKEN_TYPE.unknown
      : special.has(id)
        ? TOKEN_TYPE.control
        : /^<0x[0-9A-F]{2}>$/.test(t)
          ? TOKEN_TYPE.byte
          : TOKEN_TYPE.normal,
  );
  const kv: [string, GgufValue][] = [
    ['tokenizer.ggml.model', { type: GgufValueType.STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: tokens }],
    ['tokenizer.ggml.scores', { type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value: [...scores] }],
    ['tokenizer.ggml.token_type', { type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: types }],
  ];
  const ids: [string, number | undefined][] = [
    ['bos', idOfToken('bos_token')],
    ['eos', idOfToken('eos_token')],
    ['unknown', unk],
    ['padding', idOfToken('pad_token')],
  ];
  for (const [key, id] of ids) if (id !== undefined) kv.push([`tokenizer.ggml.${key}_token_id`, { type: GgufValueType.UINT32, value: id }]);
  for (const key of ['add_bos_token', 'add_eos_token']) {
    if (typeof tokenizerConfig[key] === 'boolean')
      kv.push([`tokenizer.ggml.${key}`, { type: GgufValueType.BOOL, value: tokenizerConfig[key] as boolean }]);
  }
  return kv;
}

/** The tokenizer metadata to write for the model at `modelPath`: copied from a GGUF file
 * as it is, or built from a folder's tokenizer.json + tokenizer_config.json. */
export function tokenizerMetadataFor(modelPath: string): [string, GgufValue][] {
  if (isGgufFile(modelPath)) {
    const g = readGgufHeader(modelPath);
    return [...g.metadata].filter(([k]) => k.startsWith('tokenizer.'));
  }
  const file = path.join(modelPath, 'tokenizer.json');
  if (!fs.existsSync(file)) {
    throw new ColaError(`${modelPath}: no tokenizer.json; a GGUF file carries its tokenizer, so the model folder needs one`);
  }
  const configFile = path.join(modelPath, 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? readJsonObject(configFile) : {};
  return hfToGgufTokenizer(readJsonObject(file, 512 << 20), config, file);
}
