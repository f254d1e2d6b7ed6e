/** An estimate of a training run's peak memory, from the model's config.json and
 * safetensors headers alone (no weight is read): what `cola train --dry-run` and
 * `cola info` print (issue 16, part 8). One function, so both say the same number.
 *
 * Assumptions (an estimate, not a measurement; checked against measured peaks in
 * bench/RESULTS.md, session 11):
 * - frozen weights in their storage dtype (bf16 2 bytes, f32 4); with --quantize the
 *   block linear weights as codes and scales (models/quantize.ts, the same rule as
 *   quantizedLoadBytes); full fine-tuning holds f32 weights, their f32 gradients and two
 *   f32 AdamW moments (16 bytes per parameter);
 * - frozen f32 block weights have two packed copies (the forward's and the input
 *   gradient's) on backends that pack (tensor/ops/packedWeight.ts): 8 more bytes each;
 * - LoRA: r·(in + out) parameters per adapted matrix, each with an f32 gradient and two
 *   f32 AdamW moments (16 bytes per parameter); a chain also keeps the merged links'
 *   factors (f32) for its checkpoint;
 * - activations are f32 and saved for backward per block and token: the two norm
 *   outputs and the residual stream (3·d), q, k, v (d + 2·kv), the attention context and
 *   output (2·d), the MLP's hidden activations (mlpKept·I: 3 gated, 5 for Phi-3's fused
 *   gate_up, 1 for OPT's ReLU fused into fc1, 2 otherwise) and the adapters' x·A (r per
 *   adapted matrix); RoPE rotates q and k in place and attention reads the heads where
 *   they are, so RoPE families keep no more, but Phi-3's q, k and v slices of its fused
 *   projection (d + 2·kv; all found by walking the autograd graph, session 12);
 *   attention is fused and keeps one logsumexp per head and query (heads·T per
 *   sequence), never the [T, T] scores;
 * - with gradient checkpointing a block keeps only its input (d per token), and one
 *   block's activations exist at a time, during its recomputation;
 * - the LM head runs fused with the loss in chunks of rows (tensor/ops/crossEntropy.ts):
 *   one chunk's f32 logits (their gradient is written in place; a soft-capped head keeps
 *   a second buffer) and the hidden states' gradient (d per token);
 * - a base loaded dense and quantized after peaks while loading: LoftQ keeps every block
 *   weight's f32 copy until its init takes it (lora/loftq.ts), GPTQ calibration
 *   (--quantize-calibration) holds the dense model while it makes the codes, with one
 *   block's X^T X sums and one layer's solve in f64; the estimate is the larger of that
 *   peak and training's;
 * - not counted: the runtime (Node, the tokenizer, the data: ~60 MiB), kernel workspaces,
 *   the calibration's activations and garbage not yet collected: measured peaks were
 *   45-320 MiB above the estimate, most 160-250, at OPT-125m, OPT-1.3B and Llama-2-7B
 *   shapes (bench/memoryEstimate.sh; bench/RESULTS.md, session 11). */
import { quantBytes, type QuantFormat } from '../backend/quant/format.js';
import { lmHeadChunkRows } from '../tensor/ops/crossEntropy.js';
import { checkpointSummary, checkpointTensorShapes } from './load.js';
import { blockNumber } from './quantize.js';

/** What the estimate needs of a model. */
export interface ModelShape {
  modelType: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
  /** max_position_embeddings (n_positions) */
  context: number;
  parameters: number;
  /** the load dtype by default: bf16 when the checkpoint holds bf16 tensors */
  storedDtype: 'f32' | 'bf16';
  /** the frozen weights in memory, in bytes, by load dtype */
  weightBytes: { f32: number; bf16: number };
  /** the 2-D weights inside the blocks (LoRA's candidates): module path and [out, in] */
  matrices: { path: string; rows: number; cols: number }[];
  /** final logit soft-capping (Gemma 2): the LM head keeps a second logits buffer */
  logitSoftcap: boolean;
  /** the MLP's hidden activations kept for backward per token, in units of I */
  mlpKept: number;
}

/** The training settings the estimate depends on. */
export interface TrainingShape {
  method: 'lora' | 'cola' | 'relora' | 'full';
  dtype: 'f32' | 'bf16';
  /** examples per micro-batch */
  batch: number;
  /** tokens per sequence (the longest in a batch sets the peak) */
  seq: number;
  /** the largest rank of any link */
  rank: number;
  /** links of the chain (their merged factors are kept) */
  links: number;
  targets: string[] | 'all-linear';
  targetRegex?: string;
  gradientCheckpointing: boolean;
  /** --quantize: the block linear weights held as codes (and --double-quant's nf4 scales) */
  quantize?: QuantFormat;
  doubleQuant?: boolean;
  /** the base is loaded dense, then quantized: 'loftq' (a LoftQ init) or 'gptq' (--quantize-calibration) */
  denseLoad?: 'loftq' | 'gptq';
  /** frozen f32 block weights get two packed copies (the backend packs: tensor/ops/packedWeight.ts packsFrozenF32) */
  packedCopies?: boolean;
}

export interface MemoryEstimate {
  /** the frozen (full: all) weights as held: storage dtype, or codes with --quantize */
  weights: number;
  /** the packed copies of frozen f32 block weights */
  packedCopies: number;
  /** trainable parameters, their gradients, AdamW moments (and merged links' factors) */
  training: number;
  activations: number;
  logits: number;
  /** the peak while a base is loaded dense and quantized (LoftQ, GPTQ); 0 when it loads as it is held */
  load: number;
  /** max(weights + packedCopies + training + activations + logits, load) */
  total: number;
  trainableParameters: number;
  adaptedMatrices: number;
}

const F32 = 4;

export function estimateTrainingMemory(m: ModelShape, t: TrainingShape): MemoryEstimate {
  const tokens = t.batch * t.seq;
  const full = t.method === 'full';
  const adapted = full ? [] : m.matrices.filter((x) => isTarget(x.path, t));
  const loraParams = adapted.reduce((s, x) => s + t.rank * (x.rows + x.cols), 0);
  const trainableParameters = full ? m.parameters : loraParams;
  const blockElements = m.matrices.reduce((s, x) => s + x.rows * x.cols, 0);
  const bytes = t.dtype === 'bf16' ? 2 : F32;
  const quantized = !full && t.quantize !== undefined;
  const codes = quantized ? m.matrices.reduce((s, x) => s + quantBytes(t.quantize!, x.rows, x.cols, t.doubleQuant ?? false), 0) : 0;
  const weights = full ? m.weightBytes.f32 : quantized ? m.weightBytes[t.dtype] - bytes * blockElements + codes : m.weightBytes[t.dtype];
  const packedCopies = !full && !quantized && t.dtype === 'f32' && t.packedCopies ? 2 * F32 * blockElements : 0;
  // parameter (full: counted in weights), gradient, two moments; merged links' A and B
  const training = full ? 3 * F32 * m.parameters : 4 * F32 * loraParams + F32 * loraParams * Math.max(0, t.links - 1);
  const kv = (m.hidden / m.heads) * m.kvHeads;
  const mlp = m.mlpKept * m.intermediate;
  const adaptersPerLayer = adapted.length / Math.max(1, m.layers);
  const perTokenPerLayer =
    3 * m.hidden + (m.hidden + 2 * kv) + 2 * m.hidden + mlp + ropeCopies(m, kv) + t.rank * adaptersPerLayer + m.heads;
  const perLayer = F32 * tokens * perTokenPerLayer;
  const activations = t.gradientCheckpointing ? F32 * tokens * m.hidden * m.layers + perLayer : perLayer * m.layers;
  const logits = F32 * ((m.logitSoftcap ? 2 : 1) * lmHeadChunkRows(tokens, m.vocab) * m.vocab + tokens * m.hidden);
  const denseLoad = { loftq: weights + F32 * blockElements, gptq: m.weightBytes[t.dtype] + codes + gptqWorkspace(m) };
  const load = !quantized || t.denseLoad === undefined ? 0 : denseLoad[t.denseLoad];
  const parts = { weights, packedCopies, training, activations, logits };
  return { ...parts, load, total: Math.max(trainingPeak(parts), load), trainableParameters, adaptedMatrices: adapted.length };
}

/** GPTQ's f64 working memory (models/calibrate.ts, gptq.ts): one block's X^T X sums (in x in
 * per layer; the blocks are calibrated one at a time) and the widest layer's three in x in
 * solve matrices. */
function gptqWorkspace(m: ModelShape): number {
  const F64 = 8;
  const perBlock = new Map<string, number>();
  for (const x of m.matrices) {
    const block = blockNumber(x.path) ?? '';
    perBlock.set(block, (perBlock.get(block) ?? 0) + F64 * x.cols * x.cols);
  }
  const widest = Math.max(0, ...m.matrices.map((x) => x.cols));
  return Math.max(0, ...perBlock.values()) + 3 * F64 * widest * widest;
}

/** The estimate's peak while training (its total, unless a dense load peaks higher). */
export function trainingPeak(m: Pick<MemoryEstimate, 'weights' | 'packedCopies' | 'training' | 'activations' | 'logits'>): number {
  return m.weights + m.packedCopies + m.training + m.activations + m.logits;
}

/** Which matrices LoRA adapts, as lora/inject.ts selects them: a module-path suffix of
 * `targets`, every block linear for all-linear, or a full match of `targetRegex`. */
function isTarget(p: string, t: TrainingShape): boolean {
  if (t.targetRegex !== undefined) return new RegExp(`^(?:${t.targetRegex})$`).test(p);
  if (t.targets === 'all-linear') return true;
  return t.targets.some((s) => p === s || p.endsWith(`.${s}`));
}

/** First config key that holds a number: families name the same thing differently. */
function num(config: Record<string, unknown>, ...keys: string[]): number | undefined {
  for (const k of keys) if (typeof config[k] === 'number') return config[k] as number;
  return undefined;
}

/** The model's shape from its folder's config.json and safetensors headers. */
export function modelShapeOf(dir: string): ModelShape {
  const s = checkpointSummary(dir);
  const c = s.config;
  const hidden = num(c, 'hidden_size', 'n_embd', 'dim') ?? 0;
  const heads = num(c, 'num_attention_heads', 'n_head') ?? 1;
  // a .gguf or llama2.c file's tensors are named and shaped as the Hugging Face checkpoint's
  const tensors = [...checkpointTensorShapes(dir)];
  const matrices = tensors
    .filter(([n, x]) => x.shape.length === 2 && /\.\d+\./.test(n) && n.endsWith('.weight'))
    .map(([n, x]) => ({ path: n.slice(0, -'.weight'.length), rows: x.shape[0]!, cols: x.shape[1]! }));
  return {
    modelType: s.modelType,
    layers: num(c, 'num_hidden_layers', 'n_layer') ?? 0,
    hidden,
    heads,
    kvHeads: num(c, 'num_key_value_heads') ?? heads,
    intermediate: num(c, 'intermediate_size', 'ffn_dim', 'n_inner') ?? 4 * hidden,
    vocab: num(c, 'vocab_size') ?? 0,
    context: num(c, 'max_position_embeddings', 'n_positions') ?? 0,
    parameters: s.parameters,
    storedDtype: s.dtypes.includes('BF16') ? 'bf16' : 'f32',
    weightBytes: s.loadedBytes,
    matrices,
    logitSoftcap: typeof c['final_logit_softcapping'] === 'number',
    mlpKept: mlpKept(s.modelType, c),
  };
}

/** The MLP's hidden activations a block keeps per token, in units of
 * intermediate_size: a gated MLP (the llama family, gemma) keeps the gate and up
 * projections' outputs and their gated product (tensor/ops/gatedActivation.ts); Phi-3
 * also keeps its fused gate_up output the two are sliced from; OPT's ReLU runs in place
 * on fc1's output (tensor/ops/linearRelu.ts), so fc1 keeps one; GPT-2's GELU keeps its
 * input and output. */
export function mlpKept(modelType: string, config: Record<string, unknown>): number {
  if (modelType === 'opt') return (config['activation_function'] ?? 'relu') === 'relu' ? 1 : 2;
  if (modelType === 'gpt2') return 2;
  if (modelType === 'phi3') return 5;
  return 3;
}

/** What attention keeps beyond q, k and v: Phi-3 slices them from its fused qkv_proj
 * output, which the graph keeps too; the others rotate in place and read the heads
 * where they are (decoder/attention.ts). */
function ropeCopies(m: ModelShape, kv: number): number {
  return m.modelType === 'phi3' ? m.hidden + 2 * kv : 0;
}
