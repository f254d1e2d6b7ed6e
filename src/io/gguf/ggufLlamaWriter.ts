/** Write a Hugging Face Llama checkpoint (config.json values + tensors by transformers'
 * names) as a llama.cpp GGUF file: the `llama.*` metadata llama.cpp's loader requires,
 * its tensor names (token_embd, blk.N.attn_q, ...), q/k rows permuted into Meta's RoPE
 * layout (as convert_hf_to_gguf.py's LlamaModel.permute), and its type rules: 1-D tensors
 * (norms) stay F32, 2-D tensors take the requested type, and a Q8_0/Q4_0 tensor whose rows
 * are not whole 32-value blocks falls back to F16 (convert_hf_to_gguf.py does the same). */
import { ColaError } from '../../errors.js';
import { permuteRopeRowsToPairs } from '../ropeLayout.js';
import { encodeGguf, type GgufBlockCodec } from './ggufCodecs.js';
import type { GgufValue } from './ggufReader.js';
import { BLOCK_TENSORS, GLOBAL_TENSORS } from './ggufLlama.js';
import { GgufValueType, ggmlTypeByName } from './ggufTypes.js';
import { writeGguf, type GgufTensorToWrite } from './ggufWriter.js';

export const GGUF_WRITE_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as const;
export type GgufWriteType = (typeof GGUF_WRITE_TYPES)[number];

/** general.file_type (llama.cpp's LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q8_0, MOSTLY_Q4_0). */
const FILE_TYPE: Record<GgufWriteType, number> = { f32: 0, f16: 1, bf16: 32, q8_0: 7, q4_0: 2 };

export interface HfTensor {
  name: string;
  /** PyTorch order */
  shape: number[];
  data: Float32Array;
}

export interface WriteLlamaGgufArgs {
  file: string;
  config: Record<string, unknown>;
  tensors: HfTensor[];
  /** tokenizer.ggml.* (ggufTokenizer.hfToGgufTokenizer, or copied from a source GGUF) */
  tokenizer: [string, GgufValue][];
  type: GgufWriteType;
  name?: string;
  /** cola's Q8_0 / Q4_0 block codec (models/ggufBlockCodec.ts GGUF_BLOCK_CODEC) */
  codec: GgufBlockCodec;
}

export interface WrittenGguf {
  /** GGUF name -> ggml type written */
  types: Map<string, string>;
  /** tensors that fell back to F16 because their rows are not whole blocks */
  fallbacks: string[];
}

export function writeLlamaGguf(a: WriteLlamaGgufArgs): WrittenGguf {
  const cfg = checkConfig(a.file, a.config);
  const toGguf = new Map<string, string>(Object.entries(GLOBAL_TENSORS).map(([g, h]) => [h, g]));
  for (let i = 0; i < cfg.layers; i++) {
    for (const [g, h] of Object.entries(BLOCK_TENSORS)) toGguf.set(`model.layers.${i}.${h}`, `blk.${i}.${g}`);
  }
  const unknown = a.tensors.filter((t) => !toGguf.has(t.name)).map((t) => t.name);
  if (unknown.length) throw new ColaError(`${a.file}: llama.cpp's llama architecture has no place for ${unknown.slice(0, 6).join(', ')}`);
  const types = new Map<string, string>();
  const fallbacks: string[] = [];
  const out: GgufTensorToWrite[] = [];
  for (const t of a.tensors) {
    if (cfg.tied && t.name === 'lm_head.weight') continue; // llama.cpp reuses token_embd
    const name = toGguf.get(t.name)!;
    let values = t.data;
    if (t.name.endsWith('q_proj.weight')) values = permuteRopeRowsToPairs(values, cfg.heads, t.shape[1]);
    if (t.name.endsWith('k_proj.weight')) values = permuteRopeRowsToPairs(values, cfg.kvHeads, t.shape[1]);
    const dims = [...t.shape].reverse();
    let typeName = dims.length === 1 ? 'F32' : a.type.toUpperCase();
    if ((typeName === 'Q8_0' || typeName === 'Q4_0') && dims[0] % 32 !== 0) {
      fallbacks.push(name);
      typeName = 'F16';
    }
    const type = ggmlTypeByName(typeName);
    types.set(name, typeName);
    out.push({ name, dims, type, data: encodeGguf(type, values, a.codec) });
  }
  writeGguf(a.file, [...llamaMetadata(a, cfg), ...padVocabulary(a)], out);
  return { types, fallbacks };
}

interface CheckedConfig {
  layers: number;
  heads: number;
  kvHeads: number;
  tied: boolean;
}

function checkConfig(file: string, c: Record<string, unknown>): CheckedConfig {
  const problems: string[] = [];
  if (c['model_type'] !== 'llama') problems.push(`model_type is ${JSON.stringify(c['model_type'])}, GGUF export writes "llama"`);
  if (c['attention_bias'] === true || c['mlp_bias'] === true)
    problems.push("the model has biases, which llama.cpp's llama architecture lacks");
  if (c['rope_scaling']) problems.push('rope_scaling (Llama 3.1) is not written to GGUF yet');
  const heads = c['num_attention_heads'] as number;
  const headDim = (c['head_dim'] as number | undefined) ?? (c['hidden_size'] as number) / heads;
  if (headDim * heads !== c['hidden_size'])
    problems.push(`head_dim ${headDim} x ${heads} heads differs from hidden_size ${String(c['hidden_size'])}`);
  if (problems.length) throw new ColaError(`${file}: cannot write this model as GGUF: ${problems.join('; ')}`);
  return {
    layers: c['num_hidden_layers'] as number,
    heads,
    kvHeads: (c['num_key_value_heads'] as number | undefined) ?? heads,
    tied: c['tie_word_embeddings'] === true,
  };
}

function llamaMetadata(a: WriteLlamaGgufArgs, cfg: CheckedConfig): [string, GgufValue][] {
  const c = a.config;
  const u32 = (v: unknown): GgufValue => ({ type: GgufValueType.UINT32, value: Number(v) });
  const f32 = (v: unknown): GgufValue => ({ type: GgufValueType.FLOAT32, value: Number(v) });
  const str = (v: string): GgufValue => ({ type: GgufValueType.STRING, value: v });
  const kv: [string, GgufValue][] = [
    ['general.architecture', str('llama')],
    ['general.name', str(a.name ?? 'cola export')],
    ['general.file_type', u32(FILE_TYPE[a.type])],
    ['llama.vocab_size', u32(c['vocab_size'])],
    ['llama.context_length', u32(c['max_position_embeddings'] ?? 2048)],
    ['llama.embedding_length', u32(c['hidden_size'])],
    ['llama.block_count', u32(cfg.layers)],
    ['llama.feed_forward_length', u32(c['intermediate_size'])],
    ['llama.rope.dimension_count', u32((c['hidden_size'] as number) / cfg.heads)],
    ['llama.attention.head_count', u32(cfg.heads)],
    ['llama.attention.head_count_kv', u32(cfg.kvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', f32(c['rms_norm_eps'] ?? 1e-6)],
    ['llama.rope.freq_base', f32(c['rope_theta'] ?? 10000)],
  ];
  if (a.type === 'q8_0' || a.type === 'q4_0') kv.push(['general.quantization_version', u32(2)]);
  return kv;
}

/** llama.cpp takes the vocabulary size from tokenizer.ggml.tokens and checks token_embd
 * against it. A model whose embedding has more rows than its tokenizer has tokens gets
 * `[PAD<id>]` tokens of type UNUSED, as convert_hf_to_gguf.py adds; fewer rows is an error. */
function padVocabulary(a: WriteLlamaGgufArgs): [string, GgufValue][] {
  const vocabSize = a.config['vocab_size'] as number;
  const tokens = a.tokenizer.find(([k]) => k === 'tokenizer.ggml.tokens')?.[1];
  if (!tokens || tokens.type !== GgufValueType.ARRAY) return a.tokenizer;
  const n = tokens.value.length;
  if (n > vocabSize) {
    throw new ColaError(
      `${a.file}: the tokenizer has ${n} tokens but the model's vocab_size is ${vocabSize}; use the tokenizer the model was trained with`,
    );
  }
  if (n === vocabSize) return a.tokenizer;
  const extra = Array.from({ length: vocabSize - n }, (_, i) => n + i);
  const pad: Record<string, (id: number) => number | string> = {
    'tokenizer.ggml.tokens': (id) => `[PAD${id}]`,
    'tokenizer.ggml.scores': () => -1000,
    'tokenizer.ggml.token_type': () => 5, // UNUSED
  };
  return a.tokenizer.map(([k, v]): [string, GgufValue] =>
    k in pad && v.type === GgufValueType.ARRAY ? [k, { ...v, value: [...v.value, ...extra.map(pad[k])] }] : [k, v],
  );
}
