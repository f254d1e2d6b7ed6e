/** Read a llama2.c checkpoint (versions 0, 1, 2) into a Hugging Face Llama state dict
 * (keys as in transformers' LlamaForCausalLM) plus its config.json object. Every
 * expected size is computed from the header and the file size must match exactly. */
import { ColaError } from '../errors.js';
import { assertLittleEndianHost, fileSize, readExactly, withFd } from './fileIo.js';
import { checkMemory } from './memory.js';
import { readLlama2cHeader, type Llama2cHeader } from './llama2cHeader.js';
import { permuteRopeByteRowsToHalves, permuteRopeRowsToHalves } from './ropeLayout.js';

export { readLlama2cHeader, type Llama2cHeader } from './llama2cHeader.js';

export interface StateTensor {
  shape: number[];
  data: Float32Array;
}
export type StateDict = Map<string, StateTensor>;

/** How RoPE pairs dimensions for the q/k weights in this state dict: 'halves' is HF Llama's
 * rotate_half (the weights were permuted), 'adjacent' is llama2.c's (2i, 2i+1). */
export type RopeLayout = 'halves' | 'adjacent';

/** A version 2 tensor kept as stored (issue 17): int8 codes, one f32 scale per group of
 * `groupSize` consecutive values; value i = codes[i] * scales[i / groupSize]. */
export interface GroupedInt8Tensor {
  shape: number[];
  codes: Int8Array;
  scales: Float32Array;
  groupSize: number;
}

export interface Llama2cModel {
  header: Llama2cHeader;
  config: Record<string, unknown>;
  stateDict: StateDict;
  /** with `keepGroups`: the int8 tensors kept as stored (not in stateDict) */
  groups: Map<string, GroupedInt8Tensor>;
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
  /** Version 2: keep these 2-D int8 tensors as their groups instead of widening them (issue
   * 17: a quantized base). q/k weights whose rows are not whole groups are widened (their
   * rows are permuted for RoPE, which would split a group). */
  keepGroups?: (key: string) => boolean;
}

export function readLlama2c(file: string, opts: ReadLlama2cOptions = {}): Llama2cModel {
  assertLittleEndianHost();
  const header = readLlama2cHeader(file);
  const segments = layout(header);
  checkFileSize(file, header, segments);
  const stateDict: StateDict = new Map();
  const groups = new Map<string, GroupedInt8Tensor>();
  // q/k rows are permuted whole (RoPE layout): their groups must not cross rows
  const rope = (key: string) => /\.(q|k)_proj\.weight$/.test(key) && opts.permuteRope !== false;
  const keep = (seg: Segment): boolean =>
    seg.quantized &&
    seg.key !== null &&
    seg.shape.length === 2 &&
    opts.keepGroups?.(seg.key) === true &&
    (!rope(seg.key) || seg.shape[1]! % header.groupSize === 0);
  withFd(file, (fd) => {
    let offset = header.headerBytes;
    for (const seg of segments) {
      if (keep(seg)) {
        const { codes, scales, bytes } = readGroups(fd, file, offset, seg, header.groupSize);
        groups.set(seg.key!, { shape: seg.shape, codes, scales, groupSize: header.groupSize });
        offset += bytes;
        continue;
      }
      const { data, bytes } = readSegment(fd, file, offset, seg, header.groupSize);
      if (seg.key !== null) stateDict.set(seg.key, { shape: seg.shape, data });
      offset += bytes;
    }
  });
  const ropeLayout: RopeLayout = opts.permuteRope === false ? 'adjacent' : 'halves';
  if (ropeLayout === 'halves') permuteQk(header, stateDict, groups);
  return { header, config: hfConfig(header, ropeLayout), stateDict, groups };
}

/** A checkpoint's tensors from its header alone (nothing read but the header; the file
 * size is checked against it): Hugging Face names, shapes, and whether each is stored as
 * int8 groups (version 2). What `cola info` describes. */
export function llama2cTensors(file: string): {
  header: Llama2cHeader;
  config: Record<string, unknown>;
  tensors: Map<string, { shape: number[]; quantized: boolean }>;
} {
  const header = readLlama2cHeader(file);
  const segments = layout(header);
  checkFileSize(file, header, segments);
  const tensors = new Map<string, { shape: number[]; quantized: boolean }>();
  for (const s of segments) if (s.key !== null) tensors.set(s.key, { shape: s.shape, quantized: s.quantized });
  return { header, config: hfConfig(header, 'halves'), tensors };
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

function readGroups(
  fd: number,
  file: string,
  offset: number,
  seg: Segment,
  groupSize: number,
): { codes: Int8Array; scales: Float32Array; bytes: number } {
  const n = numel(seg.shape);
  checkMemory(n + (4 * n) / groupSize, `${file}: tensor ${seg.key!} [${seg.shape.join(', ')}] (int8 groups)`);
  const codes = new Int8Array(n);
  const scales = new Float32Array(n / groupSize);
  readExactly(fd, codes, offset, file);
  readExactly(fd, scales, offset + n, file);
  return { codes, scales, bytes: n + 4 * scales.length };
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

function permuteQk(h: Llama2cHeader, sd: StateDict, groups: Map<string, GroupedInt8Tensor>): void {
  for (let i = 0; i < h.nLayers; i++) {
    for (const [name, heads] of [
      ['q_proj', h.nHeads],
      ['k_proj', h.nKvHeads],
    ] as const) {
      const key = `model.layers.${i}.self_attn.${name}.weight`;
      const g = groups.get(key);
      if (g) {
        // whole rows move: a row's codes and its dim / groupSize scales go together
        const bytes = new Uint8Array(g.codes.buffer, g.codes.byteOffset, g.codes.length);
        g.codes = new Int8Array(permuteRopeByteRowsToHalves(bytes, heads, h.dim).buffer);
        g.scales = permuteRopeRowsToHalves(g.scales, heads, h.dim / g.groupSize);
        continue;
      }
      const t = sd.get(key)!;
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
