import { ColaError } from '../../errors.js';
import { ConfigReader } from '../configKeys.js';
import { readRope, type RopeScaling } from '../ropeConfig.js';

/** The Llama family's config.json (also Mistral, Qwen2 (attention biases) and
 * Qwen3 (RMSNorm on each head's queries and keys); SmolLM/SmolLM2 are Llamas with
 * tied embeddings). Names keep the file's spelling. */
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
  /** rope_scaling (llama3 or linear), or null */
  rope_scaling: RopeScaling | null;
  /** Mistral's sliding window (keys older than this many positions are hidden), or null */
  sliding_window: number | null;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  mlp_bias: boolean;
  /** Qwen3: q_norm and k_norm (RMSNorm over head_dim) before RoPE. */
  qk_norm: boolean;
  hidden_act: string;
  bos_token_id: number | null;
  eos_token_id: number | null;
}

export function parseLlamaConfig(raw: Record<string, unknown>, file: string): LlamaConfig {
  const c = new ConfigReader(raw, file);
  const modelType = c.str('model_type');
  const heads = c.int('num_attention_heads');
  const hidden = c.int('hidden_size');
  // hub spelling (rope_theta, rope_scaling) or transformers v5's rope_parameters
  const rope = readRope(raw, file, { defaultTheta: 10000 });
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
    rope_theta: rope.theta,
    rope_scaling: rope.scaling,
    // Qwen2/Qwen3 write a sliding_window they only use with use_sliding_window (refused below)
    sliding_window: modelType === 'mistral' && raw['sliding_window'] != null ? c.int('sliding_window') : null,
    tie_word_embeddings: c.bool('tie_word_embeddings', false),
    // Qwen2 always has q/k/v biases; Llama and Mistral say so in attention_bias.
    attention_bias: modelType === 'qwen2' ? true : c.bool('attention_bias', false),
    mlp_bias: c.bool('mlp_bias', false),
    qk_norm: modelType === 'qwen3',
    hidden_act: c.str('hidden_act', 'silu'),
    bos_token_id: c.tokenId('bos_token_id'),
    eos_token_id: c.tokenId('eos_token_id'),
  };
  if (cfg.num_attention_heads % cfg.num_key_value_heads !== 0) {
    throw new ColaError(`${file}: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${cfg.num_key_value_heads})`);
  }
  // Qwen2/Qwen3 may window some layers (use_sliding_window); the released models do not.
  if (raw['use_sliding_window'] === true) {
    throw new ColaError(
      `${file}: use_sliding_window true is not supported for ${modelType}; set it to false (the released models have it off)`,
    );
  }
  if (cfg.hidden_act !== 'silu')
    throw new ColaError(`${file}: hidden_act "${cfg.hidden_act}" is not supported for ${modelType} (expected "silu")`);
  return cfg;
}
