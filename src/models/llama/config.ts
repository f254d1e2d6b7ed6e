import { ColaError } from '../../errors.js';
import { ConfigReader } from '../configKeys.js';
import { readDecoderDims, type DecoderDims } from '../decoder/config.js';
import { readRope, type RopeScaling } from '../ropeConfig.js';

/** The Llama family's config.json (also Mistral, Qwen2 (attention biases) and
 * Qwen3 (RMSNorm on each head's queries and keys); SmolLM/SmolLM2 are Llamas with
 * tied embeddings). Names keep the file's spelling. */
export interface LlamaConfig extends DecoderDims {
  rope_theta: number;
  /** rope_scaling (llama3 or linear), or null */
  rope_scaling: RopeScaling | null;
  /** Mistral's sliding window (keys older than this many positions are hidden), or null */
  sliding_window: number | null;
  attention_bias: boolean;
  mlp_bias: boolean;
  /** Qwen3: q_norm and k_norm (RMSNorm over head_dim) before RoPE. */
  qk_norm: boolean;
  hidden_act: string;
}

export function parseLlamaConfig(raw: Record<string, unknown>, file: string): LlamaConfig {
  const c = new ConfigReader(raw, file);
  const dims = readDecoderDims(c, { maxPositions: 2048, rmsNormEps: 1e-6, tieWordEmbeddings: false });
  const modelType = dims.model_type;
  // hub spelling (rope_theta, rope_scaling) or transformers v5's rope_parameters
  const rope = readRope(raw, file, { defaultTheta: 10000 });
  const cfg: LlamaConfig = {
    ...dims,
    rope_theta: rope.theta,
    rope_scaling: rope.scaling,
    // Qwen2/Qwen3 write a sliding_window they only use with use_sliding_window (refused below)
    sliding_window: modelType === 'mistral' && raw['sliding_window'] != null ? c.int('sliding_window') : null,
    // Qwen2 always has q/k/v biases; Llama and Mistral say so in attention_bias.
    attention_bias: modelType === 'qwen2' ? true : c.bool('attention_bias', false),
    mlp_bias: c.bool('mlp_bias', false),
    qk_norm: modelType === 'qwen3',
    hidden_act: c.str('hidden_act', 'silu'),
  };
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
