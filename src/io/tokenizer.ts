/** Load a model folder's tokenizer (tokenizer.json + tokenizer_config.json +
 * generation_config.json) through Hugging Face's own JavaScript implementation.
 *
 * Why @huggingface/tokenizers (the transformers.js team's pure-JS port) and not the
 * `tokenizers` napi bindings: it installs from the npm registry with no native binary
 * (nothing to download per platform, nothing that can fail to load on CI), is
 * synchronous, and is what transformers.js runs for thousands of Hub models. The
 * llama2.c conversion is checked token for token against run.c's algorithm in the tests.
 * Chat templates are rendered with @huggingface/jinja, transformers.js's Jinja. */
import { readLlama2cHeader } from './llama2cHeader.js';
import { isLlama2cFile, llama2cTokenizerBeside } from './llama2cPath.js';
import { readLlama2cTokenizer, toHfTokenizerConfig, toHfTokenizerJson } from './llama2cTokenizer.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { ColaError } from '../errors.js';
import { renderChatTemplate } from './chatTemplate.js';
import { readJsonObject, readTextFile } from './fileIo.js';
import { isGgufFile } from './gguf/ggufPath.js';
import { readGgufHeader } from './gguf/ggufReader.js';
import { ggufToHfTokenizer } from './gguf/ggufTokenizer.js';
import { regexRisk } from './regexSafety.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** End with the assistant turn's opening, as transformers' add_generation_prompt. */
  addGenerationPrompt?: boolean;
  /** Extra template variables (e.g. tools, date_string). */
  extra?: Record<string, unknown>;
}

export interface TextTokenizer {
  /** Token ids of `text`; BOS is prepended when `addBos` (default: the folder's add_bos_token). */
  encode(text: string, opts?: { addBos?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecial?: boolean }): string;
  bosId: number | null;
  /** The first end-of-sequence id; generation should stop on any of `eosIds`. */
  eosId: number | null;
  eosIds: number[];
  vocabSize: number;
  applyChatTemplate?(messages: ChatMessage[], opts?: ChatTemplateOptions): string;
  /** The special-token texts a chat template sees (bos_token, eos_token, unk_token,
   * pad_token), so a template given with --chat-template renders them as the folder's. */
  templateVars?: Record<string, string>;
}

const MAX_TOKENIZER_JSON = 512 << 20;
const MAX_CONFIG_JSON = 16 << 20;

export function loadTokenizer(dir: string): TextTokenizer {
  if (isGgufFile(dir)) {
    const g = readGgufHeader(dir);
    const files = ggufToHfTokenizer(g);
    return buildTokenizer(`${dir} (tokenizer.ggml.*)`, files.tokenizerJson, files.tokenizerConfig, files.generationConfig, null);
  }
  if (isLlama2cFile(dir)) {
    const tokFile = llama2cTokenizerBeside(dir);
    const h = readLlama2cHeader(dir);
    const vocab = readLlama2cTokenizer(tokFile, h.vocabSize);
    return buildTokenizer(tokFile, toHfTokenizerJson(vocab), toHfTokenizerConfig(h.seqLen), { bos_token_id: 1, eos_token_id: 2 }, null);
  }
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(tokenizerFile)) {
    throw new ColaError(
      `${dir}: no tokenizer.json; cola reads Hugging Face fast-tokenizer folders (convert llama2.c tokenizers with \`cola convert llama2c\`)`,
    );
  }
  const json = readJsonObject(tokenizerFile, MAX_TOKENIZER_JSON);
  const config = optionalJson(path.join(dir, 'tokenizer_config.json'));
  const generation = optionalJson(path.join(dir, 'generation_config.json'));
  return buildTokenizer(tokenizerFile, json, config, generation, dir);
}

/** A tokenizer from tokenizer.json / tokenizer_config.json / generation_config.json
 * objects; `dir` (may hold chat_template.jinja) is null when they come from a GGUF file. */
function buildTokenizer(
  tokenizerFile: string,
  json: Record<string, unknown>,
  config: Record<string, unknown>,
  generation: Record<string, unknown>,
  dir: string | null,
): TextTokenizer {
  checkModelType(tokenizerFile, json);
  checkRegexes(tokenizerFile, json);
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    throw new ColaError(`${tokenizerFile}: cannot build the tokenizer (${(e as Error).message})`);
  }
  const bosId = tokenId(tok, config.bos_token) ?? numberOrNull(generation.bos_token_id);
  const eosIds = eosIdsOf(tok, config, generation);
  const addBosDefault = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : postProcessorAddsBos(tok, bosId);
  const template = chatTemplate(dir, config);
  const templateVars = {
    bos_token: tokenText(config.bos_token) ?? '',
    eos_token: tokenText(config.eos_token) ?? '',
    unk_token: tokenText(config.unk_token) ?? '',
    pad_token: tokenText(config.pad_token) ?? '',
  };
  return {
    bosId,
    eosId: eosIds[0] ?? null,
    eosIds,
    vocabSize: vocabSizeOf(tok),
    encode(text, opts = {}) {
      // transformers.js's Prepend normalizer also fires on '', run.c and HF Rust do not
      const ids = text === '' ? [] : tok.encode(text, { add_special_tokens: false }).ids;
      return (opts.addBos ?? addBosDefault) && bosId !== null ? [bosId, ...ids] : ids;
    },
    decode(ids, opts = {}) {
      return ids.length === 0 ? '' : tok.decode(ids, { skip_special_tokens: opts.skipSpecial ?? false });
    },
    templateVars,
    ...(template ? { applyChatTemplate: chatTemplateRenderer(template, templateVars) } : {}),
  };
}

/** The model types @huggingface/tokenizers implements; anything else would silently
 * fall back to its "Legacy" vocabulary lookup and produce wrong ids. */
const MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram'];

function checkModelType(file: string, json: Record<string, unknown>): void {
  const model = json.model as { type?: unknown } | undefined;
  if (typeof model !== 'object' || model === null) {
    throw new ColaError(`${file}: "model" must be an object describing the tokenizer model (BPE, WordPiece or Unigram)`);
  }
  if (model.type !== undefined && !MODEL_TYPES.includes(model.type as string)) {
    throw new ColaError(
      `${file}: model.type ${JSON.stringify(model.type)} is not supported; expected one of ${MODEL_TYPES.join(', ')}. Use a tokenizer.json saved by Hugging Face tokenizers for such a model.`,
    );
  }
}

/** Every `{"Regex": ...}` outside the vocabulary (normalizer, pre_tokenizer, decoder,
 * post_processor) must pass regexRisk: the tokenizer runs them on every prompt. */
function checkRegexes(file: string, json: Record<string, unknown>): void {
  const problems: string[] = [];
  const visit = (v: unknown, at: string, depth: number): void => {
    if (typeof v !== 'object' || v === null || depth > 64) return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${at}[${i}]`, depth + 1));
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      const key = at ? `${at}.${k}` : k;
      if (k === 'Regex' && typeof x === 'string') {
        const risk = regexRisk(x, 'oniguruma');
        if (risk) problems.push(`${key} ${JSON.stringify(x.length > 120 ? x.slice(0, 120) + '...' : x)}: ${risk}`);
      } else if (!(depth === 0 && (k === 'model' || k === 'added_tokens'))) visit(x, key, depth + 1);
    }
  };
  visit(json, '', 0);
  if (problems.length) {
    throw new ColaError(
      `${file}: refusing a regular expression that could make tokenizing take unbounded time:\n  ${problems.join('\n  ')}\n` +
        'Use the tokenizer.json published with the model, or rewrite the pattern without nested or ambiguous repetition.',
    );
  }
}

function optionalJson(file: string): Record<string, unknown> {
  return fs.existsSync(file) ? readJsonObject(file, MAX_CONFIG_JSON) : {};
}

/** tokenizer_config tokens are a string or an AddedToken object {content, ...}. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return null;
}

function tokenId(tok: Tokenizer, v: unknown): number | null {
  const text = tokenText(v);
  if (text === null) return null;
  return tok.token_to_id(text) ?? tok.get_vocab(true).get(text) ?? null;
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) ? v : null;
}

/** generation_config's eos_token_id (number or list) wins, as in transformers' generate. */
function eosIdsOf(tok: Tokenizer, config: Record<string, unknown>, generation: Record<string, unknown>): number[] {
  const g = generation.eos_token_id;
  const fromGeneration = Array.isArray(g)
    ? g.filter((x): x is number => Number.isInteger(x))
    : numberOrNull(g) !== null
      ? [g as number]
      : [];
  const fromConfig = tokenId(tok, config.eos_token);
  const all = fromConfig !== null && !fromGeneration.includes(fromConfig) ? [...fromGeneration, fromConfig] : fromGeneration;
  return all;
}

/** Without an explicit add_bos_token, follow what the tokenizer.json post-processor does. */
function postProcessorAddsBos(tok: Tokenizer, bosId: number | null): boolean {
  if (bosId === null) return false;
  return tok.encode('a', { add_special_tokens: true }).ids[0] === bosId;
}

function vocabSizeOf(tok: Tokenizer): number {
  let max = -1;
  for (const id of tok.get_vocab(true).values()) max = Math.max(max, id);
  return max + 1;
}

/** chat_template from tokenizer_config.json (a string or [{name, template}]) or from a
 * chat_template.jinja file, which newer transformers versions save instead. */
function chatTemplate(dir: string | null, config: Record<string, unknown>): string | null {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const def = t.find((x) => x && x.name === 'default') ?? t[0];
    if (def && typeof def.template === 'string') return def.template;
  }
  if (dir === null) return null;
  const file = path.join(dir, 'chat_template.jinja');
  return fs.existsSync(file) ? readTextFile(file, MAX_CONFIG_JSON) : null;
}

/** applyChatTemplate for a Jinja `source`, rendered under renderChatTemplate's budget
 * with `vars` (the special-token texts); `where` names the template in errors. */
export function chatTemplateRenderer(source: string, vars: Record<string, string>, where = 'chat_template') {
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new ColaError(`${where} does not parse (${(e as Error).message})`);
  }
  return (messages: ChatMessage[], opts: ChatTemplateOptions = {}): string =>
    renderChatTemplate(template, {
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      ...vars,
      ...opts.extra,
    });
}
