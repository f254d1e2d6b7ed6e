import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import { LayerNorm, RMSNorm } from '../nn/norm.js';
import type { WeightSource } from './weightSource.js';

// Builders that read a layer's parameters from a WeightSource under its
// checkpoint prefix (`model.layers.0.self_attn.q_proj`).

/** A Linear, or a QuantizedLinear when the source quantizes (issue 17: the dense
 * matrix is dropped at once) or stores the weight quantized (a GGUF Q8_0 / Q4_0 tensor:
 * its codes, never widened). */
export function linearFrom(src: WeightSource, prefix: string, outF: number, inF: number, bias: boolean): Linear | QuantizedLinear {
  const stored = src.quantized?.(`${prefix}.weight`, [outF, inF]);
  if (stored) return new QuantizedLinear(stored, bias ? src.get(`${prefix}.bias`, [outF], 'bias')! : null, src.backend);
  const lin = denseLinearFrom(src, prefix, outF, inF, bias);
  return src.quantize ? QuantizedLinear.fromLinear(lin, src.quantize) : lin;
}

/** A Linear in the storage dtype whatever the source's quantization: the output layer,
 * which the families apply as a plain weight (CausalLM.lmHeadWeight). */
export function denseLinearFrom(src: WeightSource, prefix: string, outF: number, inF: number, bias: boolean): Linear {
  const w = src.get(`${prefix}.weight`, [outF, inF], 'matrix')!;
  const b = bias ? src.get(`${prefix}.bias`, [outF], 'bias')! : null;
  return new Linear(w, b);
}

export function embeddingFrom(src: WeightSource, prefix: string, rows: number, dim: number): Embedding {
  return new Embedding(src.get(`${prefix}.weight`, [rows, dim], 'embedding')!);
}

export function rmsNormFrom(src: WeightSource, prefix: string, dim: number, eps: number): RMSNorm {
  return new RMSNorm(src.get(`${prefix}.weight`, [dim], 'norm')!, eps);
}

export function layerNormFrom(src: WeightSource, prefix: string, dim: number, eps: number): LayerNorm {
  return new LayerNorm(src.get(`${prefix}.weight`, [dim], 'norm')!, src.get(`${prefix}.bias`, [dim], 'bias')!, eps);
}
