import { linear } from '../tensor/ops/matmul.js';
import type { QuantFormat } from '../backend/quant/format.js';
import { lmHeadCrossEntropy } from '../tensor/ops/crossEntropy.js';
import { softcap } from '../tensor/ops/elementwise.js';
import { reshape } from '../tensor/ops/shape.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { KvCache } from './kvCache.js';
import { ColaError } from '../errors.js';

/** The few numbers every decoder-only model exposes, whatever its config.json says. */
export interface ModelDims {
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  maxPositions: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
}

/** A decoder-only language model. Subclasses (one folder per model_type) build
 * their modules with checkpoint names and implement `hidden`. */
export abstract class CausalLM extends Module {
  abstract readonly dims: ModelDims;
  /** The raw config.json this model was built from (written back on export). */
  abstract readonly config: Record<string, unknown>;
  /** Precision of the frozen matrices in memory (recorded in every output). */
  weightDtype: 'f32' | 'bf16' = 'f32';
  /** the --quantize it was loaded with (issue 17: a run records and replays it); a
   * quantized GGUF's own Q8_0 / Q4_0 layers need none */
  quantizeOnLoad?: QuantFormat;
  /** --quantize-calibration: the training examples GPTQ chose the quantized codes on
   * (models/calibrate.ts); undefined for round-to-nearest codes */
  quantizeCalibration?: number;
  /** config.json keys the source file spelled as floats (written back as floats: configJson.ts). */
  configFloatKeys: readonly string[] = [];
  /** Final logit soft-capping (Gemma 2's final_logit_softcapping): logits become
   * cap * tanh(logits / cap), in loss and scores too. null: none. */
  finalLogitSoftcap: number | null = null;

  /** Final hidden states [B, T, d] for token ids [B, T] (i32); with a cache, the
   * ids continue the cached sequence. `positions` [B*T]: packed rows (packedPositions.ts),
   * each token's position in its own sequence; not with a cache. */
  abstract hidden(ids: Tensor, cache?: KvCache, positions?: Int32Array): Tensor;

  /** The output projection [vocab, d] (tied to the embedding in many models). */
  abstract lmHeadWeight(): Tensor;

  /** Tensors to write in a model folder, under their checkpoint keys. Families
   * whose file layout differs from ours (GPT-2's transposed Conv1D) override this. */
  exportTensors(): [string, Tensor][] {
    return [...this.namedParameters()];
  }

  /** Logits [B, T, V]. */
  logits(ids: Tensor, cache?: KvCache): Tensor {
    const logits = linear(this.hidden(ids, cache), this.lmHeadWeight());
    return this.finalLogitSoftcap === null ? logits : softcap(logits, this.finalLogitSoftcap);
  }

  /** Recompute activations in backward instead of keeping them (HF's
   * gradient_checkpointing_enable). Families without it say so. */
  enableGradientCheckpointing(): void {
    throw new ColaError(
      `gradient checkpointing is not implemented for ${this.dims.modelType} models yet (OPT, Llama, Gemma and Phi-3 have it); train without --gradient-checkpointing`,
    );
  }

  /** Mean next-token cross-entropy: ids [B, T], targets [B, T] (-100 = ignore).
   * The LM head and the loss are fused in chunks: the logits are never stored whole.
   * `positions` [B*T]: packed rows (see hidden). */
  loss(ids: Tensor, targets: Tensor, positions?: Int32Array): Tensor {
    const h = this.hidden(ids, undefined, positions);
    const d = h.dim(-1);
    return lmHeadCrossEntropy(reshape(h, [h.size / d, d]), this.lmHeadWeight(), targets, { softcap: this.finalLogitSoftcap });
  }
}
