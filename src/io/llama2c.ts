/** Read a llama2.c checkpoint (versions 0, 1, 2) into a Hugging Face Llama state dict
 * (keys as in transformers' LlamaForCausalLM) plus its config.json object. Every
 * expected size is computed from the header and the file size must match exactly. */
import { ColaError } from '../errors.js';
import { assertLittleEndianHost, fileSize, readExactly, withFd } from './fileIo.js';
import { checkMemory } from './memory.js';
import { readLlama2cHeader, type Llama2cHeader } from './llama2cHeader.js';
import { permuteRopeRowsToHalves } from './ropeLayout.js';

export { readLlama2cHeader, type Llama2cHeader } from './llama2cHeader.js';

export interface StateTensor {
  shape: number[];
  data: Float32Array;
}
export type StateDict = Map<string, StateTensor>;

/** How RoPE pairs dimensions for the q/k weights in this state dict: 'halves' is HF Llama's
 * rotate_half (the weights were permuted), 'adjacent' is llama2.c's (2i, 2i+1). */
export type RopeLayout = 'halves' | 'adjacent';

export interface Llama2cModel {
  header: Llama2cHeader;
  config: Record<string, unknown>;
  stateDict: StateDict;
}

/** One stored tensor, in file order. `key` null = stored but unused (legacy freq_cis). */
interface Segment {
  key: string | null;
  shape: number[];
  quantized: boolean;
}

export interface ReadLlama2cOptions {
  /** Permute q/k rows so the standard HF (halves) RoPE gives identical results. Default true:
   * the folder then loads in transformers unchanged. */
  permuteRope?: boolean;
}

export function readLlama2c(file: string, opts: ReadLlama2cOptions = {}): Llama2cModel {
  assertLittleEndianHost();
  const header = readLlama2cHeader(file);
  const segments = layout(header);
  checkFileSize(file, header, segments);
  const stateDict: StateDict = new Map();
  withFd(file, (fd) => {
    let offset = header.headerBytes;
    for (const seg of segments) {
      const { data, bytes } = readSegment(fd, file, offset, seg, header.groupSize);
      if (seg.key !== null) stateDict.set(seg.key, { shape: seg.shape, data });
      offset += bytes;
    }
  });
  const ropeLayout: RopeLayout = opts.permuteRope === false ? 'adjacent' : 'halves';
  if (ropeLayout === 'halves') permuteQk(header, stateDict);
  return { header, config: hfConfig(header, ropeLayout), stateDict };
}

function layerKeys(h: Llama2cHeader, suffix: string): string[] {
  return Array.from({ length: h.nLayers }, (_, i) => `model.layers.${i}.${suffix}`);
}

/** The tensors in the order the exporter wrote them. */
function layout(h: Llama2cHeader): Segment[] {
  const { dim: D, hiddenDim: H, vocabSize: V } = h;
  const kvDim = (D * h.nKvHeads) / h.nHeads;
  const q = h.version === 2;
  const per = (suffix: string, shape: number[], quantized: boolean): Segment[] =>
    layerKeys(h, suffix).map((key) => ({ key, shape, quantized }));
  const embed: Segment = { key: 'model.embed_tokens.weight', shape: [V, D], quantized: q };
  const norms = [...per('input_layernorm.weight', [D], false), ...per('post_attention_layernorm.weight', [D], false)];
  const finalNorm: Segment = { key: 'model.norm.weight', shape: [D], quantized: false };
  const attn = [
    ...per('self_attn.q_proj.weight', [D, D], q),
    ...per('self_attn.k_proj.weight', [kvDim, D], q),
    ...per('self_attn.v_proj.weight', [kvDim, D], q),
    ...per('self_attn.o_proj.weight', [D, D], q),
  ];
  const ffn = (w: 'gate' | 'down' | 'up') => per(`mlp.${w}_proj.weight`, w === 'down' ? [D, H] : [H, D], q);
  const cls: Segment[] = h.sharedClassifier ? [] : [{ key: 'lm_head.weight', shape: [V, D], quantized: q }];
  if (h.version !== 0) return [...norms, finalNorm, embed, ...attn, ...ffn('gate'), ...ffn('down'), ...ffn('up'), ...cls];
  // legacy: per-kind blocks with the norms interleaved, then the unused RoPE tables
  const freq: Segment = { key: null, shape: [h.seqLen, D / h.nHeads / 2], quantized: false };
  const [attNorms, ffnNorms] = [norms.slice(0, h.nLayers), norms.slice(h.nLayers)];
  return [embed, ...attNorms, ...attn, ...ffnNorms, ...ffn('gate'), ...ffn('down'), ...ffn('up'), finalNorm, freq, freq, ...cls];
}

const numel = (shape: number[]) => shape.reduce((a, d) => a * d, 1);

function segmentBytes(seg: Segment, groupSize: number): number {
  const n = numel(seg.shape);
  return seg.quantized ? n + 4 * (n / groupSize) : 4 * n;
}

function checkFileSize(file: string, h: Llama2cHeader, segments: Segment[]): void {
  for (const seg of segments) {
    if (seg.quantized && numel(seg.shape) % h.groupSize !== 0) {
      throw new ColaError(
        `${file}: tensor ${seg.key} has ${numel(seg.shape)} values, not a multiple of the Q8_0 group_size ${h.groupSize}; the header is corrupt`,
      );
    }
  }
  const expected = segments.reduce((a, s) => a + segmentBytes(s, h.groupSize), h.headerBytes);
  const actual = fileSize(file);
  if (actual !== expected) {
    const shape = `dim ${h.dim}, hidden_dim ${h.hiddenDim}, n_layers ${h.nLayers}, n_heads ${h.nHeads}, n_kv_heads ${h.nKvHeads}, vocab ${h.vocabSize}, seq_len ${h.seqLen}, ${h.sharedClassifier ? 'tied' : 'untied'} classifier`;
    throw new ColaError(
      `${file}: is ${actual} bytes but a llama2.c version ${h.version} checkpoint with ${shape} must be exactly ${expected} bytes; the file is truncated, corrupt, or its header does not match its weights`,
    );
  }
}

function readSegment(fd: number, file: string, offset: number, seg: Segment, groupSize: number): { data: Float32Array; bytes: number } {
  const n = numel(seg.shape);
  // the file may be sparse: its size matching the header proves nothing about memory
  checkMemory(seg.quantized ? 9 * n : 4 * n, `${file}: tensor ${seg.key ?? '(unused segment)'} [${seg.shape.join(', ')}]`);
  if (!seg.quantized) {
    const data = new Float32Array(n);
    readExactly(fd, data, offset, file);
    return { data, bytes: 4 * n };
  }
  const values = new Int8Array(n);
  const scales = new Float32Array(n / groupSize);
  readExactly(fd, values, offset, file);
  readExactly(fd, scales, offset + n, file);
  return { data: dequantizeQ8(values, scales, groupSize), bytes: n + 4 * scales.length };
}

/** w[i] = q[i] * scale[i / group] in float32, as llama2.c's runq.c dequantize(); the product
 * of an int8 and a float32 is exact in a double, so fround gives the float32 product. */
function dequantizeQ8(values: Int8Array, scales: Float32Array, groupSize: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] * scales[Math.floor(i / groupSize)];
  return out;
}

function permuteQk(h: Llama2cHeader, sd: StateDict): void {
  for (let i = 0; i < h.nLayers; i++) {
    for (const [name, heads] of [
      ['q_proj', h.nHeads],
      ['k_proj', h.nKvHeads],
    ] as const) {
      const t = sd.get(`model.layers.${i}.self_attn.${name}.weight`)!;
      t.data = permuteRopeRowsToHalves(t.data, heads, h.dim);
    }
  }
}

/** config.json as transformers writes it for LlamaForCausalLM, plus cola's own keys:
 * `cola_rope_layout` says how q/k rows pair dimensions for RoPE (see RopeLayout). */
function hfConfig(h: Llama2cHeader, ropeLayout: RopeLayout): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    head_dim: h.dim / h.nHeads,
    vocab_size: h.vocabSize,
    max_position_embeddings: h.seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    tie_word_embeddings: h.sharedClassifier,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
    cola_rope_layout: ropeLayout,
    cola_source: `llama2.c version ${h.version}`,
  };
}
