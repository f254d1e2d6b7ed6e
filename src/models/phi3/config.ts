import { ColaError } from '../../errors.js';
import { ConfigReader } from '../configKeys.js';
import { readRope, rotaryDim, type RopeParams } from '../ropeConfig.js';

/** Phi-3's config.json (Phi-3/3.5-mini, Phi-4-mini): a Llama with fused qkv_proj
 * and gate_up_proj. Names keep the file's spelling. */
export interface Phi3Config {
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
  rope: RopeParams;
  /** head_dim * partial_rotary_factor (Phi-4-mini rotates 3/4 of each head) */
  rotary_dim: number;
  /** keys older than this many positions are hidden (Phi-3-mini: 2047), or null */
  sliding_window: number | null;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
}

export function parsePhi3Config(raw: Record<string, unknown>, file: string): Phi3Config {
  const c = new ConfigReader(raw, file);
  const heads = c.int('num_attention_heads');
  const hidden = c.int('hidden_size');
  const scaling = raw['rope_scaling'] as Record<string, unknown> | null | undefined;
  const scalingType = scaling ? (scaling['rope_type'] ?? scaling['type']) : null;
  if (scalingType === 'longrope' || scalingType === 'su') {
    throw new ColaError(
      `${file}: rope_scaling type "${scalingType}" (LongRoPE: Phi-3-128k, Phi-3.5, Phi-4-mini) is not supported yet; use a 4k-context Phi-3 (e.g. Phi-3-mini-4k-instruct)`,
    );
  }
  const rope = readRope(raw, file, { defaultTheta: 10000 });
  const headDim = c.int('head_dim', Math.floor(hidden / heads));
  const cfg: Phi3Config = {
    model_type: c.str('model_type'),
    vocab_size: c.int('vocab_size'),
    hidden_size: hidden,
    intermediate_size: c.int('intermediate_size'),
    num_hidden_layers: c.int('num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: c.int('num_key_value_heads', heads),
    head_dim: headDim,
    max_position_embeddings: c.int('max_position_embeddings', 4096),
    rms_norm_eps: c.num('rms_norm_eps', 1e-5),
    rope,
    rotary_dim: rotaryDim(headDim, rope, file),
    sliding_window: raw['sliding_window'] == null ? null : c.int('sliding_window'),
    tie_word_embeddings: c.bool('tie_word_embeddings', false),
    bos_token_id: c.tokenId('bos_token_id'),
    eos_token_id: c.tokenId('eos_token_id'),
  };
  if (heads % cfg.num_key_value_heads !== 0) {
    throw new ColaError(`${file}: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${cfg.num_key_value_heads})`);
  }
  const act = c.str('hidden_act', 'silu');
  if (act !== 'silu') throw new ColaError(`${file}: hidden_act "${act}" is not supported for phi3 (expected "silu")`);
  return cfg;
}
