/** Load a model folder's tokenizer (tokenizer.json + tokenizer_config.json +
 * generation_config.json) through Hugging Face's own JavaScript implementation.
 *
 * Why @huggingface/tokenizers (the transformers.js team's pure-JS port) and not the
 * `tokenizers` napi bindings: it installs from the npm registry with no native binary
 * (nothing to download per platform, nothing that can fail to load on CI), is
 * synchronous, and is what transformers.js runs for thousands of Hub models. The
 * llama2.c conversion is checked token for token against run.c's algorithm in the tests.
 * Chat templates are rendered with @huggingface/jinja, transformers.js's Jinja. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { ColaError } from '../errors.js';
import { readJsonObject, readTextFile } from './fileIo.js';

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
}

const MAX_TOKENIZER_JSON = 512 << 20;
const MAX_CONFIG_JSON = 16 << 20;

export function loadTokenizer(dir: string): TextTokenizer {
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(tokenizerFile)) {
    throw new ColaError(
      `${dir}: no tokenizer.json; cola reads Hugging Face fast-tokenizer folders (convert llama2.c tokenizers with \`cola convert llama2c\`)`,
    );
  }
  const json = readJsonObject(tokenizerFile, MAX_TOKENIZER_JSON);
  const config = optionalJson(path.join(dir, 'tokenizer_config.json'));
  const generation = optionalJson(path.join(dir, 'generation_config.json'));
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
    ...(template ? { applyChatTemplate: renderer(template, config) } : {}),
  };
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
function chatTemplate(dir: string, config: Record<string, unknown>): string | null {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const def = t.find((x) => x && x.name === 'default') ?? t[0];
    if (def && typeof def.template === 'string') return def.template;
  }
  const file = path.join(dir, 'chat_template.jinja');
  return fs.existsSync(file) ? readTextFile(file, MAX_CONFIG_JSON) : null;
}

function renderer(source: string, config: Record<string, unknown>) {
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new ColaError(`chat_template does not parse (${(e as Error).message})`);
  }
  return (messages: ChatMessage[], opts: ChatTemplateOptions = {}): string => {
    const vars = {
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      bos_token: tokenText(config.bos_token) ?? '',
      eos_token: tokenText(config.eos_token) ?? '',
      unk_token: tokenText(config.unk_token) ?? '',
      pad_token: tokenText(config.pad_token) ?? '',
      ...opts.extra,
    };
    try {
      return template.render(vars);
    } catch (e) {
      // includes the template's own raise_exception('...') for a conversation it rejects
      throw new ColaError(`chat template: ${(e as Error).message}`);
    }
  };
}
