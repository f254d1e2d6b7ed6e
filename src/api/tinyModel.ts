/** A tiny Llama model folder built from nothing: random weights and a character-level
 * tokenizer. For examples, the quickstart on a machine without ../shared, and smoke
 * tests; it is a complete Hugging Face folder that every command and loader reads. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceBackend } from '../backend/reference/index.js';
import { ColaError } from '../errors.js';
import { writeJsonAtomic } from '../io/fileIo.js';
import { toHfTokenizerConfig, toHfTokenizerJson, type Llama2cVocab } from '../io/llama2cTokenizer.js';
import { randomModel } from '../models/load.js';
import { saveModelFolder } from '../models/save.js';

export interface TinyModelOptions {
  seed?: number;
  hiddenSize?: number;
  intermediateSize?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  /** context length (max_position_embeddings) */
  context?: number;
  /** std of the random matrices (HF init: 0.02) */
  std?: number;
}

export const TINY_MODEL_DEFAULTS: Required<TinyModelOptions> = {
  seed: 1,
  hiddenSize: 64,
  intermediateSize: 128,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  context: 128,
  std: 0.02,
};

/** Printable ASCII: one token per character, everything else through the byte tokens. */
const CHARS = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));

/** llama2.c's vocabulary layout (the converter this reuses expects it): <unk>, BOS, EOS,
 * 256 byte tokens, then the characters (no merges: character-level). */
function tinyVocab(): Llama2cVocab {
  const pieces = ['<unk>', '\n<s>\n', '\n</s>\n'];
  for (let b = 0; b < 256; b++) pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  pieces.push(...CHARS);
  const scores = new Float32Array(pieces.length);
  return { maxTokenLength: 6, pieces, scores };
}

/** The config.json of the tiny model (LlamaForCausalLM spelling). */
function tinyConfig(o: Required<TinyModelOptions>, vocabSize: number): Record<string, unknown> {
  if (o.hiddenSize % o.heads !== 0 || o.heads % o.kvHeads !== 0) {
    throw new ColaError(`tiny model: hiddenSize (${o.hiddenSize}) must divide by heads (${o.heads}), and heads by kvHeads (${o.kvHeads})`);
  }
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: o.hiddenSize,
    intermediate_size: o.intermediateSize,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: o.kvHeads,
    head_dim: o.hiddenSize / o.heads,
    vocab_size: vocabSize,
    max_position_embeddings: o.context,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
  };
}

/** Write the tiny model folder to `dir` (config.json, model.safetensors, tokenizer files)
 * and return `dir`. Same options, same bytes: the weights come from a seeded generator. */
export function writeTinyModelFolder(dir: string, opts: TinyModelOptions = {}): string {
  const o = { ...TINY_MODEL_DEFAULTS, ...opts };
  const vocab = tinyVocab();
  // The reference backend: writing weights needs no speed, and the bytes must not depend on the machine.
  const model = randomModel(tinyConfig(o, vocab.pieces.length), { backend: referenceBackend, seed: o.seed, std: o.std });
  fs.mkdirSync(dir, { recursive: true });
  writeJsonAtomic(path.join(dir, 'tokenizer.json'), toHfTokenizerJson(vocab));
  writeJsonAtomic(path.join(dir, 'tokenizer_config.json'), toHfTokenizerConfig(o.context));
  writeJsonAtomic(path.join(dir, 'generation_config.json'), { bos_token_id: 1, eos_token_id: 2 });
  saveModelFolder(model, dir); // config.json last: a folder with a config is complete
  return dir;
}
