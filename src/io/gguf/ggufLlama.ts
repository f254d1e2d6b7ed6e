/** A llama-family GGUF file seen as a Hugging Face Llama checkpoint: config.json from the
 * `llama.*` metadata, tensors under transformers' names in PyTorch shape order.
 *
 * llama.cpp keeps Meta's RoPE layout (q/k rows pair dimensions (2i, 2i+1) within a head;
 * convert_hf_to_gguf.py permutes HF's rows into it), so q_proj/k_proj rows are permuted
 * back to HF's halves layout on reading (the stories260K GGUF is bit-identical to the
 * llama2.c weights, which need the same permutation: ../shared/models/gguf/README.md). */
import { ColaError } from '../../errors.js';
import { permuteRopeByteRowsToHalves, permuteRopeRowsToHalves } from '../ropeLayout.js';
import { decodeGguf, ggufBlockFormat, type GgufBlockCodec, type GgufBlockFormat } from './ggufCodecs.js';
import { metaValue, readGgufHeader, readGgufTensorBytes, type GgufFile, type GgufTensorInfo } from './ggufReader.js';
import { GgufValueType } from './ggufTypes.js';

export interface GgufLlamaTensor {
  /** the HF name */
  name: string;
  info: GgufTensorInfo;
  /** PyTorch order: dims reversed */
  shape: number[];
  /** heads whose q/k rows are permuted from Meta's to HF's RoPE layout on reading */
  ropeHeads?: number;
}

export interface GgufLlama {
  file: GgufFile;
  config: Record<string, unknown>;
  tensors: Map<string, GgufLlamaTensor>;
}

/** llama.cpp tensor name (after `blk.N.`) -> transformers' (after `model.layers.N.`). */
export const BLOCK_TENSORS: Record<string, string> = {
  'attn_q.weight': 'self_attn.q_proj.weight',
  'attn_k.weight': 'self_attn.k_proj.weight',
  'attn_v.weight': 'self_attn.v_proj.weight',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'attn_norm.weight': 'input_layernorm.weight',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
  'ffn_gate.weight': 'mlp.gate_proj.weight',
  'ffn_up.weight': 'mlp.up_proj.weight',
  'ffn_down.weight': 'mlp.down_proj.weight',
};
export const GLOBAL_TENSORS: Record<string, string> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
};

export function openGgufLlama(path: string): GgufLlama {
  const file = readGgufHeader(path);
  const config = llamaConfig(file);
  const tensors = new Map<string, GgufLlamaTensor>();
  const unknown: string[] = [];
  const heads = config['num_attention_heads'] as number;
  const kvHeads = config['num_key_value_heads'] as number;
  for (const info of file.tensors.values()) {
    const name = hfName(info.name, config['num_hidden_layers'] as number);
    if (name === null) {
      unknown.push(info.name);
      continue;
    }
    const ropeHeads = name.endsWith('q_proj.weight') ? heads : name.endsWith('k_proj.weight') ? kvHeads : undefined;
    tensors.set(name, { name, info, shape: [...info.dims].reverse(), ...(ropeHeads ? { ropeHeads } : {}) });
  }
  if (unknown.length) {
    throw new ColaError(
      `${path}: tensors a llama model does not have: ${unknown.slice(0, 8).join(', ')}${unknown.length > 8 ? ` (and ${unknown.length - 8} more)` : ''}; cola reads llama-architecture GGUF files (token_embd, blk.N.attn_q/k/v/output, ffn_gate/up/down, attn_norm, ffn_norm, output_norm, output)`,
    );
  }
  if (!tensors.has('lm_head.weight')) config['tie_word_embeddings'] = true;
  return { file, config, tensors };
}

function hfName(gguf: string, layers: number): string | null {
  if (gguf in GLOBAL_TENSORS) return GLOBAL_TENSORS[gguf];
  const m = /^blk\.(\d+)\.(.+)$/.exec(gguf);
  if (!m || Number(m[1]) >= layers || !(m[2] in BLOCK_TENSORS)) return null;
  return `model.layers.${Number(m[1])}.${BLOCK_TENSORS[m[2]]}`;
}

/** One tensor as float32 in HF layout (quantized blocks decoded by `codec`). */
export function readGgufLlamaTensor(g: GgufLlama, name: string, codec: GgufBlockCodec): Float32Array {
  const t = tensorOf(g, name);
  const values = decodeGguf(t.info.type, readGgufTensorBytes(g.file, t.info.name), t.info.elements, codec);
  if (t.ropeHeads === undefined) return values;
  checkRopeRows(g.file.path, t);
  return permuteRopeRowsToHalves(values, t.ropeHeads, t.shape[1]);
}

/** A Q8_0 / Q4_0 matrix as stored: [rows, cols] in PyTorch order, `data` the blocks of
 * each row in turn (rows x cols / 32 blocks), q/k rows permuted to HF's layout. */
export interface GgufBlockMatrix {
  format: GgufBlockFormat;
  rows: number;
  cols: number;
  data: Uint8Array;
}

/** Why a tensor cannot stay quantized as cola's q8_0 / q4_0 (its blocks are not whole rows),
 * or null when it can: a 2-D Q8_0 / Q4_0 tensor whose rows are whole 32-value blocks. The
 * 2023 quantizer blocked a tensor as one flat array, so a row of 172 values (stories260K's
 * ffn_down) has blocks that cross rows: such a tensor is dequantized instead. */
export function blockMatrixProblem(t: GgufLlamaTensor): string | null {
  const format = ggufBlockFormat(t.info.type);
  if (!format) return `${t.info.type.name} is not Q8_0 or Q4_0`;
  if (t.shape.length !== 2) return `it has ${t.shape.length} dimensions`;
  if (t.shape[1] % t.info.type.blockSize !== 0)
    return `its rows of ${t.shape[1]} values are not whole ${t.info.type.name} blocks of ${t.info.type.blockSize} (the blocks cross rows)`;
  return null;
}

/** A tensor's blocks, undecoded (blockMatrixProblem must be null). */
export function readGgufLlamaBlocks(g: GgufLlama, name: string): GgufBlockMatrix {
  const t = tensorOf(g, name);
  const problem = blockMatrixProblem(t);
  if (problem) throw new ColaError(`${g.file.path}: tensor "${t.info.name}" cannot stay quantized: ${problem}`);
  const [rows, cols] = t.shape as [number, number];
  let data = readGgufTensorBytes(g.file, t.info.name);
  if (t.ropeHeads !== undefined) {
    checkRopeRows(g.file.path, t);
    data = permuteRopeByteRowsToHalves(data, t.ropeHeads, data.length / rows);
  }
  return { format: ggufBlockFormat(t.info.type)!, rows, cols, data };
}

function tensorOf(g: GgufLlama, name: string): GgufLlamaTensor {
  const t = g.tensors.get(name);
  if (!t) throw new ColaError(`${g.file.path}: no tensor for "${name}"`);
  return t;
}

function checkRopeRows(file: string, t: GgufLlamaTensor): void {
  const rows = t.shape[0];
  if (t.shape.length !== 2 || rows % t.ropeHeads! !== 0 || (rows / t.ropeHeads!) % 2 !== 0) {
    throw new ColaError(
      `${file}: tensor "${t.info.name}" [${t.info.dims.join(', ')}] does not split into ${t.ropeHeads} heads of an even size`,
    );
  }
}

const need = (g: GgufFile, key: string): number => {
  const v = metaValue(g, key, 'number');
  if (v === undefined) throw new ColaError(`${g.path}: metadata "${key}" is missing; a llama GGUF file must have it`);
  return positiveInt(g, key, v as number);
};

function positiveInt(g: GgufFile, key: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 1 << 24)
    throw new ColaError(`${g.path}: metadata "${key}" must be an integer from 1 to 2^24, found ${v}`);
  return v;
}

/** config.json (LlamaForCausalLM) from the `llama.*` metadata; unsupported options are refused. */
function llamaConfig(g: GgufFile): Record<string, unknown> {
  const arch = metaValue(g, 'general.architecture', 'string');
  if (arch !== 'llama') {
    throw new ColaError(
      `${g.path}: general.architecture is ${JSON.stringify(arch ?? null)}; cola reads llama-architecture GGUF files (Llama 1/2/3, TinyLlama, stories*). Convert other models from their Hugging Face folder instead.`,
    );
  }
  const hidden = need(g, 'llama.embedding_length');
  const heads = need(g, 'llama.attention.head_count');
  const kvHeadsRaw = metaValue(g, 'llama.attention.head_count_kv', 'number');
  const kvHeads = kvHeadsRaw === undefined ? heads : positiveInt(g, 'llama.attention.head_count_kv', kvHeadsRaw as number);
  const headDim = hidden / heads;
  const ropeDim = metaValue(g, 'llama.rope.dimension_count', 'number');
  if (!Number.isInteger(headDim) || (ropeDim !== undefined && ropeDim !== headDim)) {
    throw new ColaError(
      `${g.path}: llama.embedding_length ${hidden} / head_count ${heads} must be a whole head size equal to llama.rope.dimension_count (${String(ropeDim)}); partial RoPE is not supported`,
    );
  }
  for (const key of ['llama.attention.key_length', 'llama.attention.value_length']) {
    const v = metaValue(g, key, 'number');
    if (v !== undefined && v !== headDim)
      throw new ColaError(`${g.path}: ${key} ${v} differs from the head size ${headDim}; not supported`);
  }
  const scaling = metaValue(g, 'llama.rope.scaling.type', 'string');
  if (scaling !== undefined && scaling !== 'none') {
    throw new ColaError(`${g.path}: llama.rope.scaling.type "${scaling}" is not supported (cola reads GGUF files without RoPE scaling)`);
  }
  if (g.tensors.has('rope_freqs.weight')) {
    throw new ColaError(
      `${g.path}: has rope_freqs.weight (Llama 3.1 RoPE scaling), which cola does not read from GGUF; use the Hugging Face folder`,
    );
  }
  const tokens = g.metadata.get('tokenizer.ggml.tokens');
  const vocab = metaValue(g, 'llama.vocab_size', 'number') ?? (tokens?.type === GgufValueType.ARRAY ? tokens.value.length : undefined);
  const embd = g.tensors.get('token_embd.weight');
  const vocabSize = vocab !== undefined ? positiveInt(g, 'llama.vocab_size', vocab as number) : embd?.dims[1];
  if (vocabSize === undefined) throw new ColaError(`${g.path}: no token_embd.weight and no vocabulary; not a llama model file`);
  const eps = metaValue(g, 'llama.attention.layer_norm_rms_epsilon', 'number');
  // bounded: the RoPE table has one row per position
  const contextLength = metaValue(g, 'llama.context_length', 'number');
  const theta = metaValue(g, 'llama.rope.freq_base', 'number');
  const id = (key: string) => {
    const v = metaValue(g, `tokenizer.ggml.${key}_token_id`, 'number') as number | undefined;
    return v !== undefined && v < vocabSize ? v : null;
  };
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: hidden,
    intermediate_size: need(g, 'llama.feed_forward_length'),
    num_hidden_layers: need(g, 'llama.block_count'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    vocab_size: vocabSize,
    max_position_embeddings: contextLength === undefined ? 2048 : positiveInt(g, 'llama.context_length', contextLength as number),
    rms_norm_eps: eps === undefined ? 1e-5 : shortestF32(eps as number),
    rope_theta: theta ?? 10000.0,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: id('bos'),
    eos_token_id: id('eos'),
    torch_dtype: 'float32',
    cola_rope_layout: 'halves',
    cola_source: `GGUF version ${g.version}`,
  };
}

/** The shortest decimal that is the same float32 (GGUF stores 1e-5 as 9.99999974e-6). */
export function shortestF32(x: number): number {
  for (let digits = 1; digits < 17; digits++) {
    const y = Number(x.toPrecision(digits));
    if (Math.fround(y) === Math.fround(x)) return y;
  }
  return x;
}
