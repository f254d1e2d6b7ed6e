/** An estimate of a training run's peak memory, from the model's config.json and
 * safetensors headers alone (no weight is read): what `cola train --dry-run` and
 * `cola info` print (issue 16, part 8). One function, so both say the same number.
 *
 * Assumptions (an estimate, not a measurement):
 * - frozen weights in their storage dtype (bf16 2 bytes, f32 4); full fine-tuning holds
 *   f32 weights, their f32 gradients and two f32 AdamW moments (16 bytes per parameter);
 * - LoRA: r·(in + out) parameters per adapted matrix, each with an f32 gradient and two
 *   f32 AdamW moments (16 bytes per parameter); a chain also keeps the merged links'
 *   factors (f32) for its checkpoint;
 * - activations are f32 and saved for backward per block and token: the two norm
 *   outputs and the residual stream (3·d), q, k, v (d + 2·kv), the attention context and
 *   output (2·d), the MLP's hidden activations (3·I gated (llama), 2·I otherwise) and the
 *   adapters' x·A (r per adapted matrix); per block and sequence the attention scores and
 *   probabilities (2·heads·T²);
 * - with gradient checkpointing a block keeps only its input (d per token), and one
 *   block's activations exist at a time, during its recomputation;
 * - the LM head's logits, their log-softmax and their gradient: 3·B·T·vocab f32;
 * - not counted: the runtime (Node, the tokenizer, the data), kernel workspaces and
 *   allocator slack: a measured peak RSS is higher by a roughly constant amount. */
import { checkpointSummary, checkpointTensorShapes } from './load.js';

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
}

export interface MemoryEstimate {
  weights: number;
  /** trainable parameters, their gradients, AdamW moments (and merged links' factors) */
  training: number;
  activations: number;
  logits: number;
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
  const weights = full ? m.weightBytes.f32 : m.weightBytes[t.dtype];
  // parameter (full: counted in weights), gradient, two moments; merged links' A and B
  const training = full ? 3 * F32 * m.parameters : 4 * F32 * loraParams + F32 * loraParams * Math.max(0, t.links - 1);
  const kv = (m.hidden / m.heads) * m.kvHeads;
  const mlp = (m.modelType === 'llama' ? 3 : 2) * m.intermediate;
  const adaptersPerLayer = adapted.length / Math.max(1, m.layers);
  const perTokenPerLayer = 3 * m.hidden + (m.hidden + 2 * kv) + 2 * m.hidden + mlp + t.rank * adaptersPerLayer;
  const perLayer = F32 * (tokens * perTokenPerLayer + 2 * t.batch * m.heads * t.seq * t.seq);
  const activations = t.gradientCheckpointing ? F32 * tokens * m.hidden * m.layers + perLayer : perLayer * m.layers;
  const logits = 3 * F32 * tokens * m.vocab;
  return {
    weights,
    training,
    activations,
    logits,
    total: weights + training + activations + logits,
    trainableParameters,
    adaptedMatrices: adapted.length,
  };
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
  };
}
