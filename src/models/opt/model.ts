import { embeddingFrom, layerNormFrom, linearFrom } from '../build.js';
import type { Embedding } from '../../nn/embedding.js';
import type { Activation } from '../../nn/activation.js';
import type { LinearLike } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import type { LayerNorm } from '../../nn/norm.js';
import { attention } from '../../tensor/ops/attention.js';
import { checkpoint } from '../../tensor/ops/checkpoint.js';
import { tensor } from '../../tensor/ops/creation.js';
import { add } from '../../tensor/ops/elementwise.js';
import { permute, reshape } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { activation } from '../activations.js';
import { CausalLM, type ModelDims } from '../causalLM.js';
import type { KvCache } from '../kvCache.js';
import type { WeightSource } from '../weightSource.js';
import { checkNoCache, packedKeyStart } from '../packedPositions.js';
import { hasFinalLayerNorm, type OptConfig } from './config.js';

/** OPTLearnedPositionalEmbedding: position p reads row p + 2 (fairseq kept rows
 * 0 and 1 for padding), so the table has max_position_embeddings + 2 rows. */
const OPT_POSITION_OFFSET = 2;

const LAYER_NORM_EPS = 1e-5; // nn.LayerNorm's default; OPTConfig has no key for it

class OPTAttention extends Module {
  k_proj: LinearLike;
  v_proj: LinearLike;
  q_proj: LinearLike;
  out_proj: LinearLike;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _cfg: OptConfig,
    private readonly _layer: number,
  ) {
    super();
    const { hidden_size: d, enable_bias: bias } = _cfg;
    this.k_proj = linearFrom(src, `${prefix}.k_proj`, d, d, bias);
    this.v_proj = linearFrom(src, `${prefix}.v_proj`, d, d, bias);
    this.q_proj = linearFrom(src, `${prefix}.q_proj`, d, d, bias);
    this.out_proj = linearFrom(src, `${prefix}.out_proj`, d, d, bias);
  }

  /** residual + self-attention(x); out_proj adds the residual. */
  forward(x: Tensor, residual: Tensor, cache?: KvCache, keyStart?: Int32Array): Tensor {
    const [B, T, d] = x.shape as [number, number, number]; // x: (B, T, d)
    const H = this._cfg.num_attention_heads;
    const heads = (y: Tensor): Tensor => reshape(y, [B, T, H, d / H]); // (B, T, H, hd), a view
    // HF multiplies q_proj's output by head_dim^-0.5; the op's default scale is the same.
    if (!cache) {
      // Heads read in place from the projections' outputs: no transposing copies.
      const o = attention(heads(this.q_proj.forward(x)), heads(this.k_proj.forward(x)), heads(this.v_proj.forward(x)), {
        causal: true,
        layout: 'bthd',
        keyStart,
      });
      return this.out_proj.forward(reshape(o, [B, T, d]), { residual }); // o: (B, T, H, hd)
    }
    const split = (y: Tensor): Tensor => permute(heads(y), [0, 2, 1, 3]); // (B, H, T, hd): the cache's layout
    let k = split(this.k_proj.forward(x));
    let v = split(this.v_proj.forward(x));
    [k, v] = cache.update(this._layer, k, v);
    const o = attention(split(this.q_proj.forward(x)), k, v, { causal: true }); // (B, H, T, hd)
    return this.out_proj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, T, d]), { residual });
  }
}

class OPTDecoderLayer extends Module {
  self_attn: OPTAttention;
  self_attn_layer_norm: LayerNorm;
  fc1: LinearLike;
  fc2: LinearLike;
  final_layer_norm: LayerNorm;
  private readonly _act: Activation;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _cfg: OptConfig,
    layer: number,
  ) {
    super();
    const { hidden_size: d, ffn_dim: f, enable_bias: bias } = _cfg;
    this.self_attn = new OPTAttention(src, `${prefix}.self_attn`, _cfg, layer);
    this.self_attn_layer_norm = layerNormFrom(src, `${prefix}.self_attn_layer_norm`, d, LAYER_NORM_EPS);
    this.fc1 = linearFrom(src, `${prefix}.fc1`, f, d, bias);
    this.fc2 = linearFrom(src, `${prefix}.fc2`, d, f, bias);
    this.final_layer_norm = layerNormFrom(src, `${prefix}.final_layer_norm`, d, LAYER_NORM_EPS);
    this._act = activation(_cfg.activation_function);
  }

  /** Pre-LN normalises each block's input; post-LN (OPT-350m) its residual sum. */
  forward(h: Tensor, cache?: KvCache, keyStart?: Int32Array): Tensor {
    const pre = this._cfg.do_layer_norm_before;
    h = this.self_attn.forward(pre ? this.self_attn_layer_norm.forward(h) : h, h, cache, keyStart);
    if (!pre) h = this.self_attn_layer_norm.forward(h);
    const x = pre ? this.final_layer_norm.forward(h) : h;
    h = this.fc2.forward(this.fc1.forward(x, { activation: this._act }), { residual: h });
    return pre ? h : this.final_layer_norm.forward(h);
  }
}

class OPTDecoder extends Module {
  embed_tokens: Embedding;
  embed_positions: Embedding;
  /** hidden_size -> word_embed_proj_dim before the LM head (OPT-350m), else null */
  project_out: LinearLike | null;
  /** word_embed_proj_dim -> hidden_size after the embedding, else null */
  project_in: LinearLike | null;
  layers: OPTDecoderLayer[];
  final_layer_norm: LayerNorm | null;

  constructor(src: WeightSource, cfg: OptConfig) {
    super();
    const { hidden_size: d, word_embed_proj_dim: e } = cfg;
    const p = 'model.decoder';
    this.embed_tokens = embeddingFrom(src, `${p}.embed_tokens`, cfg.vocab_size, e);
    this.embed_positions = embeddingFrom(src, `${p}.embed_positions`, cfg.max_position_embeddings + OPT_POSITION_OFFSET, d);
    this.project_out = e !== d ? linearFrom(src, `${p}.project_out`, e, d, false) : null;
    this.project_in = e !== d ? linearFrom(src, `${p}.project_in`, d, e, false) : null;
    this.layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => new OPTDecoderLayer(src, `${p}.layers.${i}`, cfg, i));
    this.final_layer_norm = hasFinalLayerNorm(cfg) ? layerNormFrom(src, `${p}.final_layer_norm`, d, LAYER_NORM_EPS) : null;
  }
}

class OPTModel extends Module {
  decoder: OPTDecoder;

  constructor(src: WeightSource, cfg: OptConfig) {
    super();
    this.decoder = new OPTDecoder(src, cfg);
  }
}

/** OPT (125m ... 66b): HF OPTForCausalLM. The LM head is always tied to
 * embed_tokens (checkpoints may still hold a copy as lm_head.weight). */
export class OPTForCausalLM extends CausalLM {
  model: OPTModel;
  readonly dims: ModelDims;
  /** Recompute each decoder layer's activations in backward instead of keeping
   * them (HF's gradient_checkpointing_enable). Needs LoRA dropout 0. */
  gradientCheckpointing = false;
  /** Token rows per slice of a checkpointed layer's backward: layers treat the
   * batch's sequences independently, so backward recomputes them a few sequences
   * at a time (whole sequences, at least one). Smaller slices hold less at once
   * (OPT-1.3B, batch 8: ~330 MB for the whole batch) and run smaller matmuls. */
  checkpointSliceRows = 256;
  /** Layers per checkpointed segment. Kept inputs shrink by this factor while the
   * recomputed slice grows by it; with slices of one sequence, 3 gave the lowest
   * peak at OPT-1.3B's shape, batch 8 (1.21x the weights after one step; 2:
   * 1.23x). The FLOPs do not change: each layer is recomputed once either way. */
  checkpointSegmentLayers = 3;

  constructor(
    src: WeightSource,
    private readonly _cfg: OptConfig,
    readonly config: Record<string, unknown>,
  ) {
    super();
    this.model = new OPTModel(src, _cfg);
    this.dims = {
      modelType: 'opt',
      vocabSize: _cfg.vocab_size,
      // the width hidden() returns and the LM head reads (project_out's output)
      hiddenSize: _cfg.word_embed_proj_dim,
      numLayers: _cfg.num_hidden_layers,
      maxPositions: _cfg.max_position_embeddings,
      bosTokenId: _cfg.bos_token_id,
      eosTokenId: _cfg.eos_token_id,
    };
  }

  hidden(ids: Tensor, cache?: KvCache, packed?: Int32Array): Tensor {
    const dec = this.model.decoder;
    const [B, T] = ids.shape as [number, number];
    const start = cache?.length ?? 0;
    checkNoCache(packed, cache);
    if (start + T > this._cfg.max_position_embeddings && !packed) {
      throw new Error(`opt: position ${start + T - 1} is beyond max_position_embeddings (${this._cfg.max_position_embeddings})`);
    }
    const keyStart = packed ? packedKeyStart(packed, B, T, this._cfg.max_position_embeddings) : undefined;
    const rows = packed
      ? packed.map((p) => p + OPT_POSITION_OFFSET)
      : Int32Array.from({ length: T }, (_, i) => start + i + OPT_POSITION_OFFSET);
    let x = dec.embed_tokens.forward(ids); // (B, T, word_embed_proj_dim)
    if (dec.project_in) x = dec.project_in.forward(x);
    let h = add(x, dec.embed_positions.forward(tensor(ids.backend, rows, packed ? [B, T] : [T], 'i32'))); // (B, T, d)
    if (!this.gradientCheckpointing || cache) for (const layer of dec.layers) h = layer.forward(h, cache, keyStart);
    else h = this.checkpointedLayers(h, keyStart);
    if (dec.final_layer_norm) h = dec.final_layer_norm.forward(h);
    return dec.project_out ? dec.project_out.forward(h) : h;
  }

  override enableGradientCheckpointing(): void {
    this.gradientCheckpointing = true;
  }

  /** The decoder layers in checkpointed segments of `checkpointSegmentLayers`:
   * only each segment's input is kept; backward recomputes a segment a slice of
   * sequences at a time. */
  private checkpointedLayers(h: Tensor, keyStart?: Int32Array): Tensor {
    const layers = this.model.decoder.layers;
    const per = Math.max(1, this.checkpointSegmentLayers);
    // Packed rows carry a per-row mask, so their slices are not interchangeable: one slice.
    const sliceItems = keyStart ? h.dim(0) : Math.max(1, Math.floor(this.checkpointSliceRows / h.dim(1)));
    for (let i = 0; i < layers.length; i += per) {
      const segment = layers.slice(i, i + per);
      const params = segment.flatMap((l) => l.trainableParameters().map(([, t]) => t));
      h = checkpoint((x) => segment.reduce((y, l) => l.forward(y, undefined, keyStart), x), h, params, { sliceItems });
    }
    return h;
  }

  lmHeadWeight(): Tensor {
    return this.model.decoder.embed_tokens.weight;
  }
}
