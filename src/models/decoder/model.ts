/** The stack and the causal-LM head shared by the Llama-style decoder families (llama,
 * gemma, phi3): embed_tokens -> layers -> norm, lm_head tied or not, positions for a
 * cache or packed rows, gradient checkpointing. A family builds its layers and says what
 * differs (Gemma scales the embedding and soft-caps the logits). */
import { denseLinearFrom } from '../build.js';
import type { Embedding } from '../../nn/embedding.js';
import type { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { checkpoint } from '../../tensor/ops/checkpoint.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CausalLM, type ModelDims } from '../causalLM.js';
import type { KvCache } from '../kvCache.js';
import { checkNoCache, packedKeyStart } from '../packedPositions.js';
import type { WeightSource } from '../weightSource.js';
import type { DecoderLayer, Norm } from './layer.js';

/** The config.json keys the shared head reads (the file's spelling). */
export interface DecoderConfig {
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
}

/** The block linears of a family built of QkvAttention and GatedMLP (llama, gemma), by path. */
export const QKV_GATED_LINEARS = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
];

/** The registry's `otherLinears` of these families. */
export const UNTIED_LM_HEAD = 'lm_head when tie_word_embeddings is false (never in all-linear)';

/** HF LlamaModel / Gemma2Model / Phi3Model: the checkpoint's `model.*`. */
export class DecoderModel<L extends DecoderLayer = DecoderLayer> extends Module {
  constructor(
    public embed_tokens: Embedding,
    public layers: L[],
    public norm: Norm,
  ) {
    super();
  }
}

export abstract class DecoderForCausalLM<L extends DecoderLayer = DecoderLayer> extends CausalLM {
  model: DecoderModel<L>;
  lm_head: Linear | null;
  readonly dims: ModelDims;
  /** Recompute each decoder layer's activations in backward, one sequence at a time,
   * instead of keeping them (HF's gradient_checkpointing_enable; needs LoRA dropout 0):
   * what lets a 7B-shaped step fit a 16 GB machine (issue 17). Every family of the
   * shared stack has it (llama, gemma 2/3, phi3): a layer's forward is a pure function of
   * its input, positions and keyStart (no dropout), so recomputing it gives the same
   * activations (test/models/decoderCheckpointing.test.ts). */
  gradientCheckpointing = false;

  override enableGradientCheckpointing(): void {
    this.gradientCheckpointing = true;
  }

  /** `model` is built first: a RandomWeights source draws in call order. */
  constructor(
    src: WeightSource,
    cfg: DecoderConfig,
    model: DecoderModel<L>,
    readonly config: Record<string, unknown>,
  ) {
    super();
    this.model = model;
    // Tied models may still ship lm_head.weight; untied ones must.
    this.lm_head = cfg.tie_word_embeddings ? null : denseLinearFrom(src, 'lm_head', cfg.vocab_size, cfg.hidden_size, false);
    this.dims = {
      modelType: cfg.model_type,
      vocabSize: cfg.vocab_size,
      hiddenSize: cfg.hidden_size,
      numLayers: cfg.num_hidden_layers,
      maxPositions: cfg.max_position_embeddings,
      bosTokenId: cfg.bos_token_id,
      eosTokenId: cfg.eos_token_id,
    };
  }

  /** The embedded ids (B, T, d); Gemma scales them. */
  protected embed(ids: Tensor): Tensor {
    return this.model.embed_tokens.forward(ids);
  }

  hidden(ids: Tensor, cache?: KvCache, packed?: Int32Array): Tensor {
    const [B, T] = ids.shape as [number, number];
    checkNoCache(packed, cache);
    // packed rows (--pack, issue 18): positions restart per row, attention stays inside it
    const keyStart = packed ? packedKeyStart(packed, B, T, this.dims.maxPositions) : undefined;
    const start = cache?.length ?? 0;
    const positions = packed ?? Int32Array.from({ length: T }, (_, i) => start + i);
    let h = this.embed(ids); // (B, T, d)
    if (!this.gradientCheckpointing || cache) for (const layer of this.model.layers) h = layer.forward(h, positions, cache, keyStart);
    else {
      // packed rows: keyStart and positions span the whole batch, so it is not sliced
      const sliceItems = keyStart ? B : 1;
      for (const layer of this.model.layers) {
        const params = layer.trainableParameters().map(([, t]) => t);
        h = checkpoint((x) => layer.forward(x, positions, undefined, keyStart), h, params, { sliceItems });
      }
    }
    return this.model.norm.forward(h);
  }

  lmHeadWeight(): Tensor {
    return this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight;
  }
}
