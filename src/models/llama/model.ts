import { embeddingFrom, rmsNormFrom } from '../build.js';
import { ropeTable, type RopeTable } from '../../tensor/ops/rope.js';
import { ropeInvFreq } from '../ropeConfig.js';
import type { WeightSource } from '../weightSource.js';
import { QkvAttention } from '../decoder/attention.js';
import { GatedMLP } from '../decoder/gatedMlp.js';
import { PreNormDecoderLayer } from '../decoder/layer.js';
import { DecoderForCausalLM, DecoderModel } from '../decoder/model.js';
import type { LlamaConfig } from './config.js';

type LlamaDecoderLayer = PreNormDecoderLayer<QkvAttention, GatedMLP>;

/** HF LlamaDecoderLayer: SwiGLU MLP; Qwen2's q/k/v biases, Qwen3's q_norm/k_norm,
 * Mistral's sliding window come from the config. */
function llamaLayer(src: WeightSource, prefix: string, cfg: LlamaConfig, layer: number, table: RopeTable): LlamaDecoderLayer {
  const norm = (name: string, dim: number) => rmsNormFrom(src, `${prefix}.${name}`, dim, cfg.rms_norm_eps);
  const window = cfg.sliding_window ?? undefined;
  const attn = new QkvAttention(
    src,
    `${prefix}.self_attn`,
    {
      dims: cfg,
      qkvBias: cfg.attention_bias,
      oBias: false,
      qkNorm: cfg.qk_norm ? (name) => norm(`self_attn.${name}`, cfg.head_dim) : null,
      extras: window ? { window } : {},
    },
    layer,
    table,
  );
  const mlp = new GatedMLP(src, `${prefix}.mlp`, { ...cfg, bias: cfg.mlp_bias, activation: 'silu' });
  return new PreNormDecoderLayer(attn, mlp, norm('input_layernorm', cfg.hidden_size), norm('post_attention_layernorm', cfg.hidden_size));
}

function llamaModel(src: WeightSource, cfg: LlamaConfig): DecoderModel<LlamaDecoderLayer> {
  const invFreq = ropeInvFreq(cfg.head_dim, { theta: cfg.rope_theta, scaling: cfg.rope_scaling, partialRotaryFactor: 1 });
  const table = ropeTable(src.backend, cfg.head_dim, cfg.max_position_embeddings, cfg.rope_theta, invFreq);
  const embed = embeddingFrom(src, 'model.embed_tokens', cfg.vocab_size, cfg.hidden_size);
  const layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => llamaLayer(src, `model.layers.${i}`, cfg, i, table));
  return new DecoderModel(embed, layers, rmsNormFrom(src, 'model.norm', cfg.hidden_size, cfg.rms_norm_eps));
}

/** Llama 2/3, TinyLlama, SmolLM/SmolLM2, Mistral (sliding window included), Qwen2, Qwen3:
 * HF LlamaForCausalLM (and Qwen3ForCausalLM's q/k norms). */
export class LlamaForCausalLM extends DecoderForCausalLM<LlamaDecoderLayer> {
  constructor(src: WeightSource, cfg: LlamaConfig, config: Record<string, unknown>) {
    super(src, cfg, llamaModel(src, cfg), config);
  }
}
