import { ColaError } from '../../errors.js';
import { activation, activationName } from '../activations.js';
import type { Activation } from '../../nn/activation.js';
import { ConfigReader } from '../configKeys.js';
import { readDecoderDims, type DecoderDims } from '../decoder/config.js';
import { readRope, type RopeParams } from '../ropeConfig.js';

export type GemmaLayerType = 'sliding_attention' | 'full_attention';

/** Gemma 2's and Gemma 3's (text part: gemma3_text) config.json. Names keep the
 * file's spelling; rope holds the per-layer-type RoPE. */
export interface GemmaConfig extends DecoderDims {
  model_type: 'gemma2' | 'gemma3_text';
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
  attention_bias: boolean;
}

export function parseGemmaConfig(raw: Record<string, unknown>, file: string): GemmaConfig {
  const c = new ConfigReader(raw, file);
  const dims = readDecoderDims(c, { maxPositions: 8192, rmsNormEps: 1e-6, tieWordEmbeddings: true, headDim: 256 });
  const modelType = dims.model_type as GemmaConfig['model_type'];
  const gemma3 = modelType === 'gemma3_text';
  const cap = (key: string): number | null => (raw[key] == null ? null : c.num(key));
  // Gemma 2 windows every other layer (0, 2, ...); Gemma 3 five in six (pattern 6)
  const pattern = gemma3 ? c.int('sliding_window_pattern', (raw['_sliding_window_pattern'] as number | undefined) ?? 6) : 2;
  const layerTypes = readLayerTypes(raw['layer_types'], dims.num_hidden_layers, pattern, file);
  const act = activationName(
    c.str('hidden_activation', (raw['hidden_act'] as string | undefined) ?? 'gelu_pytorch_tanh'),
    file,
    'hidden_activation',
  );
  const cfg: GemmaConfig = {
    ...dims,
    model_type: modelType,
    query_pre_attn_scalar: c.num('query_pre_attn_scalar', dims.head_dim),
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
    attention_bias: c.bool('attention_bias', false),
  };
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
