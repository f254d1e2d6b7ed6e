import { denseLinearFrom, embeddingFrom, layerNormFrom } from '../build.js';
import type { Embedding } from '../../nn/embedding.js';
import type { Activation } from '../../nn/activation.js';
import type { Linear, LinearLike } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import type { LayerNorm } from '../../nn/norm.js';
import { attention } from '../../tensor/ops/attention.js';
import { tensor } from '../../tensor/ops/creation.js';
import { add } from '../../tensor/ops/elementwise.js';
import { permute, reshape, slice, transpose } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { activation } from '../activations.js';
import { CausalLM, type ModelDims } from '../causalLM.js';
import type { KvCache } from '../kvCache.js';
import type { WeightSource } from '../weightSource.js';
import { checkNoCache, packedKeyStart } from '../packedPositions.js';
import { attentionScale, type Gpt2Config } from './config.js';
import { CONV1D_WEIGHT, conv1dFrom } from './conv1d.js';

class GPT2Attention extends Module {
  /** fused q, k, v projection: d -> 3d */
  c_attn: LinearLike;
  c_proj: LinearLike;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _cfg: Gpt2Config,
    private readonly _layer: number,
  ) {
    super();
    const d = _cfg.n_embd;
    this.c_attn = conv1dFrom(src, `${prefix}.c_attn`, d, 3 * d);
    this.c_proj = conv1dFrom(src, `${prefix}.c_proj`, d, d);
  }

  /** residual + self-attention(x); c_proj adds the residual. */
  forward(x: Tensor, residual: Tensor, cache?: KvCache, keyStart?: Int32Array): Tensor {
    const [B, T, d] = x.shape as [number, number, number]; // x: (B, T, d)
    const H = this._cfg.n_head;
    const qkv = permute(reshape(this.c_attn.forward(x), [B, T, 3, H, d / H]), [2, 0, 3, 1, 4]); // (3, B, H, T, hd)
    const part = (i: number): Tensor => reshape(slice(qkv, 0, i, i + 1), [B, H, T, d / H]); // (B, H, T, hd)
    let k = part(1);
    let v = part(2);
    if (cache) [k, v] = cache.update(this._layer, k, v);
    const o = attention(part(0), k, v, { causal: true, scale: attentionScale(this._cfg, this._layer), keyStart }); // (B, H, T, hd)
    return this.c_proj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, T, d]), { residual });
  }
}

class GPT2MLP extends Module {
  c_fc: LinearLike;
  c_proj: LinearLike;
  private readonly _act: Activation;

  constructor(src: WeightSource, prefix: string, cfg: Gpt2Config) {
    super();
    this.c_fc = conv1dFrom(src, `${prefix}.c_fc`, cfg.n_embd, cfg.n_inner);
    this.c_proj = conv1dFrom(src, `${prefix}.c_proj`, cfg.n_inner, cfg.n_embd);
    this._act = activation(cfg.activation_function);
  }

  /** residual + mlp(x); c_proj adds the residual. */
  forward(x: Tensor, residual: Tensor): Tensor {
    return this.c_proj.forward(this.c_fc.forward(x, { activation: this._act }), { residual });
  }
}

class GPT2Block extends Module {
  ln_1: LayerNorm;
  attn: GPT2Attention;
  ln_2: LayerNorm;
  mlp: GPT2MLP;

  constructor(src: WeightSource, prefix: string, cfg: Gpt2Config, layer: number) {
    super();
    const { n_embd: d, layer_norm_epsilon: eps } = cfg;
    this.ln_1 = layerNormFrom(src, `${prefix}.ln_1`, d, eps);
    this.attn = new GPT2Attention(src, `${prefix}.attn`, cfg, layer);
    this.ln_2 = layerNormFrom(src, `${prefix}.ln_2`, d, eps);
    this.mlp = new GPT2MLP(src, `${prefix}.mlp`, cfg);
  }

  forward(h: Tensor, cache?: KvCache, keyStart?: Int32Array): Tensor {
    h = this.attn.forward(this.ln_1.forward(h), h, cache, keyStart);
    return this.mlp.forward(this.ln_2.forward(h), h);
  }
}

class GPT2Model extends Module {
  wte: Embedding;
  wpe: Embedding;
  h: GPT2Block[];
  ln_f: LayerNorm;

  constructor(src: WeightSource, cfg: Gpt2Config) {
    super();
    this.wte = embeddingFrom(src, 'transformer.wte', cfg.vocab_size, cfg.n_embd);
    this.wpe = embeddingFrom(src, 'transformer.wpe', cfg.n_positions, cfg.n_embd);
    this.h = Array.from({ length: cfg.n_layer }, (_, i) => new GPT2Block(src, `transformer.h.${i}`, cfg, i));
    this.ln_f = layerNormFrom(src, 'transformer.ln_f', cfg.n_embd, cfg.layer_norm_epsilon);
  }
}

/** GPT-2 and its fine-tunes (distilgpt2 ...): HF GPT2LMHeadModel. */
export class GPT2LMHeadModel extends CausalLM {
  transformer: GPT2Model;
  lm_head: Linear | null;
  readonly dims: ModelDims;

  constructor(
    src: WeightSource,
    private readonly _cfg: Gpt2Config,
    readonly config: Record<string, unknown>,
  ) {
    super();
    this.transformer = new GPT2Model(src, _cfg);
    this.lm_head = _cfg.tie_word_embeddings ? null : denseLinearFrom(src, 'lm_head', _cfg.vocab_size, _cfg.n_embd, false);
    this.dims = {
      modelType: 'gpt2',
      vocabSize: _cfg.vocab_size,
      hiddenSize: _cfg.n_embd,
      numLayers: _cfg.n_layer,
      maxPositions: _cfg.n_positions,
      bosTokenId: _cfg.bos_token_id,
      eosTokenId: _cfg.eos_token_id,
    };
  }

  hidden(ids: Tensor, cache?: KvCache, packed?: Int32Array): Tensor {
    const tr = this.transformer;
    const [B, T] = ids.shape as [number, number];
    const start = cache?.length ?? 0;
    checkNoCache(packed, cache);
    if (start + T > this._cfg.n_positions && !packed) {
      throw new Error(`gpt2: position ${start + T - 1} is beyond n_positions (${this._cfg.n_positions})`);
    }
    const keyStart = packed ? packedKeyStart(packed, B, T, this._cfg.n_positions) : undefined;
    const positions = packed ?? Int32Array.from({ length: T }, (_, i) => start + i);
    const posIds = tensor(ids.backend, positions, packed ? [B, T] : [T], 'i32');
    let h = add(tr.wte.forward(ids), tr.wpe.forward(posIds)); // (B, T, d)
    for (const block of tr.h) h = block.forward(h, cache, keyStart);
    return tr.ln_f.forward(h);
  }

  lmHeadWeight(): Tensor {
    return this.lm_head ? this.lm_head.weight : this.transformer.wte.weight;
  }

  /** GPT-2 files hold Conv1D weights [in, out]: transpose ours [out, in] back. */
  override exportTensors(): [string, Tensor][] {
    return super.exportTensors().map(([name, t]) => [name, CONV1D_WEIGHT.test(name) ? transpose(t, 0, 1) : t]);
  }
}
