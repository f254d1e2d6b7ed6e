import { ColaError } from '../../errors.js';
import { ConfigReader } from '../configKeys.js';

/** The Llama family's config.json (also Mistral and Qwen2, which add
 * attention biases and sliding windows). Names keep the file's spelling. */
export interface LlamaConfig {
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: Llama3RopeScaling | null;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  mlp_bias: boolean;
  hidden_act: string;
  bos_token_id: number | null;
  eos_token_id: number | null;
}

export interface Llama3RopeScaling {
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

export function parseLlamaConfig(raw: Record<string, unknown>, file: string): LlamaConfig {
  const c = new ConfigReader(raw, file);
  const modelType = c.str('model_type');
  const heads = c.int('num_attention_heads');
  const hidden = c.int('hidden_size');
  const cfg: LlamaConfig = {
    model_type: modelType,
    vocab_size: c.int('vocab_size'),
    hidden_size: hidden,
    intermediate_size: c.int('intermediate_size'),
    num_hidden_layers: c.int('num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: c.int('num_key_value_heads', heads),
    head_dim: c.int('head_dim', Math.floor(hidden / heads)),
    max_position_embeddings: c.int('max_position_embeddings', 2048),
    rms_norm_eps: c.num('rms_norm_eps', 1e-6),
    rope_theta: c.num('rope_theta', 10000),
    rope_scaling: parseRopeScaling(raw['rope_scaling'], file),
    tie_word_embeddings: c.bool('tie_word_embeddings', false),
    // Qwen2 always has q/k/v biases; Llama and Mistral say so in attention_bias.
    attention_bias: modelType === 'qwen2' ? true : c.bool('attention_bias', false),
    mlp_bias: c.bool('mlp_bias', false),
    hidden_act: c.str('hidden_act', 'silu'),
    bos_token_id: c.tokenId('bos_token_id'),
    eos_token_id: c.tokenId('eos_token_id'),
  };
  if (cfg.num_attention_heads % cfg.num_key_value_heads !== 0) {
    throw new ColaError(`${file}: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${cfg.num_key_value_heads})`);
  }
  if (cfg.hidden_act !== 'silu')
    throw new ColaError(`${file}: hidden_act "${cfg.hidden_act}" is not supported for ${modelType} (expected "silu")`);
  return cfg;
}

function parseRopeScaling(v: unknown, file: string): Llama3RopeScaling | null {
  if (v === null || v === undefined) return null;
  const c = new ConfigReader(v as Record<string, unknown>, `${file} (rope_scaling)`);
  const type = c.str('rope_type', (v as Record<string, unknown>)['type'] as string | undefined);
  if (type === 'default') return null;
  if (type !== 'llama3') throw new ColaError(`${file}: rope_scaling type "${type}" is not supported (supported: llama3)`);
  return {
    factor: c.num('factor'),
    low_freq_factor: c.num('low_freq_factor'),
    high_freq_factor: c.num('high_freq_factor'),
    original_max_position_embeddings: c.int('original_max_position_embeddings'),
  };
}

/** Llama 3's frequency-dependent RoPE scaling (transformers' _compute_llama3_parameters). */
export function llama3InvFreq(headDim: number, theta: number, s: Llama3RopeScaling): Float64Array {
  const half = headDim / 2;
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  return Float64Array.from({ length: half }, (_, i) => {
    const freq = Math.pow(theta, (-2 * i) / headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) return freq;
    if (wavelen > lowWavelen) return freq / s.factor;
    const smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return (1 - smooth) * (freq / s.factor) + smooth * freq;
  });
}
