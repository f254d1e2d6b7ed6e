import { ColaError } from '../../errors.js';
import { activation, activationName } from '../activations.js';
import type { Activation } from '../../nn/activation.js';
import { ConfigReader } from '../configKeys.js';
import { readRope, type RopeParams } from '../ropeConfig.js';

export type GemmaLayerType = 'sliding_attention' | 'full_attention';

/** Gemma 2's and Gemma 3's (text part: gemma3_text) config.json. Names keep the
 * file's spelling; rope holds the per-layer-type RoPE. */
export interface GemmaConfig {
  model_type: 'gemma2' | 'gemma3_text';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  /** attention scale = query_pre_attn_scalar^-0.5 (not head_dim^-0.5) */
  query_pre_attn_scalar: number;
  attn_logit_softcapping: number | null;
  final_logit_softcapping: number | null;
  sliding_window: number;
  layer_types: GemmaLayerType[];
  rope: Record<GemmaLayerType, RopeParams>;
  hidden_activation: Activation;
  /** Gemma 3: q_norm/k_norm ((1 + w) RMSNorm over head_dim) before RoPE */
  qk_norm: boolean;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
}

export function parseGemmaConfig(raw: Record<string, unknown>, file: string): GemmaConfig {
  const c = new ConfigReader(raw, file);
  const modelType = c.str('model_type') as GemmaConfig['model_type'];
  const gemma3 = modelType === 'gemma3_text';
  const layers = c.int('num_hidden_layers');
  const heads = c.int('num_attention_heads');
  const headDim = c.int('head_dim', 256);
  const cap = (key: string): number | null => (raw[key] == null ? null : c.num(key));
  // Gemma 2 windows every other layer (0, 2, ...); Gemma 3 five in six (pattern 6)
  const pattern = gemma3 ? c.int('sliding_window_pattern', (raw['_sliding_window_pattern'] as number | undefined) ?? 6) : 2;
  const layerTypes = readLayerTypes(raw['layer_types'], layers, pattern, file);
  const act = activationName(
    c.str('hidden_activation', (raw['hidden_act'] as string | undefined) ?? 'gelu_pytorch_tanh'),
    file,
    'hidden_activation',
  );
  const cfg: GemmaConfig = {
    model_type: modelType,
    vocab_size: c.int('vocab_size'),
    hidden_size: c.int('hidden_size'),
    intermediate_size: c.int('intermediate_size'),
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: c.int('num_key_value_heads', heads),
    head_dim: headDim,
    max_position_embeddings: c.int('max_position_embeddings', 8192),
    rms_norm_eps: c.num('rms_norm_eps', 1e-6),
    query_pre_attn_scalar: c.num('query_pre_attn_scalar', headDim),
    attn_logit_softcapping: cap('attn_logit_softcapping'),
    final_logit_softcapping: cap('final_logit_softcapping'),
    sliding_window: c.int('sliding_window', 4096),
    layer_types: layerTypes,
    rope: gemma3
      ? {
          full_attention: readRope(raw, file, { defaultTheta: 1e6, layerType: 'full_attention' }),
          sliding_attention: readRope(raw, file, {
            defaultTheta: 1e4,
            layerType: 'sliding_attention',
            localThetaKey: 'rope_local_base_freq',
          }),
        }
      : sameRope(readRope(raw, file, { defaultTheta: 1e4 })),
    hidden_activation: activation(act),
    qk_norm: gemma3,
    tie_word_embeddings: c.bool('tie_word_embeddings', true),
    attention_bias: c.bool('attention_bias', false),
    bos_token_id: c.tokenId('bos_token_id'),
    eos_token_id: c.tokenId('eos_token_id'),
  };
  if (heads % cfg.num_key_value_heads !== 0) {
    throw new ColaError(`${file}: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${cfg.num_key_value_heads})`);
  }
  if (raw['use_bidirectional_attention'] === true) {
    throw new ColaError(`${file}: use_bidirectional_attention true (EmbeddingGemma) is not supported; cola trains causal language models`);
  }
  return cfg;
}

function sameRope(p: RopeParams): Record<GemmaLayerType, RopeParams> {
  return { full_attention: p, sliding_attention: p };
}

/** config.json's layer_types, or the family's default pattern: layer i is full
 * attention when (i + 1) % pattern == 0, else sliding (transformers' defaults). */
function readLayerTypes(v: unknown, layers: number, pattern: number, file: string): GemmaLayerType[] {
  if (v == null) return Array.from({ length: layers }, (_, i) => ((i + 1) % pattern === 0 ? 'full_attention' : 'sliding_attention'));
  if (!Array.isArray(v) || v.length !== layers || !v.every((t) => t === 'sliding_attention' || t === 'full_attention')) {
    throw new ColaError(`${file}: key "layer_types" must list "sliding_attention" or "full_attention" for each of the ${layers} layers`);
  }
  return v as GemmaLayerType[];
}
