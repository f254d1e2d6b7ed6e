/** Quantize a loaded model's frozen linear weights (issue 17: QLoRA-style training on a
 * quantized base). Every Linear becomes a QuantizedLinear except the LM head, which stays
 * in the storage dtype (the families apply it as a plain weight, often tied to the
 * embedding: CausalLM.lmHeadWeight); embeddings and norms are untouched. */
import { ColaError } from '../errors.js';
import { quantBytes, type QuantFormat } from '../backend/quant/format.js';
import { Linear } from '../nn/linear.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import type { CausalLM } from './causalLM.js';
import type { Module } from '../nn/module.js';

export interface QuantizeModelReport {
  layers: number;
  /** bytes of the replaced weights before (storage dtype) and after (codes + scales) */
  bytesBefore: number;
  bytesAfter: number;
}

/** `keepDense`: each layer also keeps its dense f32 weight until a LoftQ init takes it
 * (lora/loftq.ts; dropDenseSources frees what no init took). */
export function quantizeModel(model: CausalLM, format: QuantFormat, keepDense = false): QuantizeModelReport {
  const chosen = quantizableLinears(model);
  let bytesBefore = 0;
  let bytesAfter = 0;
  for (const [path, lin] of chosen) {
    const [rows, cols] = lin.weight.shape as [number, number];
    bytesBefore += rows * cols * (lin.weight.dtype === 'bf16' ? 2 : 4);
    bytesAfter += quantBytes(format, rows, cols);
    model.setChild(path, QuantizedLinear.fromLinear(lin, format, {}, keepDense));
  }
  if (keepDense) model.quantizeOnLoad = format; // loaded dense for LoftQ: still the base --quantize made
  return { layers: chosen.length, bytesBefore, bytesAfter };
}

/** The layers --quantize replaces: every Linear but the LM head, with its path. */
export function quantizableLinears(model: CausalLM): [string, Linear][] {
  const head = model.lmHeadWeight();
  return [...model.namedModules()].filter((e): e is [string, Linear] => e[1] instanceof Linear && e[1].weight !== head);
}

/** The decoder block a module path is in: its first number (`model.layers.3.mlp.up_proj`
 * is in block "3"), null outside the numbered blocks (OPT-350m's project_in). */
export function blockNumber(path: string): string | null {
  return /\.(\d+)\./.exec(`.${path}.`)?.[1] ?? null;
}

/** Bytes a checkpoint's tensors take loaded with every block linear weight (a 2-D
 * `.weight` inside a numbered block, `model.layers.3.mlp.up_proj.weight`) quantized
 * to `format` and the rest at `bytesPerElement`: what `--quantize` needs, from the
 * headers alone (nothing loaded). Embeddings and the output layer sit outside blocks. */
export function quantizedLoadBytes(
  tensors: ReadonlyMap<string, { shape: readonly number[] }>,
  bytesPerElement: number,
  format: QuantFormat,
): number {
  let sum = 0;
  for (const [name, t] of tensors) {
    const linear = t.shape.length === 2 && /\.\d+\./.test(name) && name.endsWith('.weight');
    sum += linear ? quantBytes(format, t.shape[0]!, t.shape[1]!) : t.shape.reduce((a, b) => a * b, 1) * bytesPerElement;
  }
  return sum;
}

/** QLoRA's double quantization (`--double-quant`, bitsandbytes' bnb_4bit_use_double_quant)
 * of every nf4 layer's block scales, after the layers were quantized; returns the layers
 * converted. Refuses a model with no nf4 layer (the option would do nothing). */
export function doubleQuantizeModel(model: CausalLM): number {
  const layers = [...model.namedModules()].filter((e): e is [string, QuantizedLinear] => e[1] instanceof QuantizedLinear);
  const nf4 = layers.filter(([, l]) => l.format === 'nf4');
  if (nf4.length === 0)
    throw new ColaError(
      `--double-quant quantizes nf4's block scales, but the model has no nf4 layer${layers.length ? ` (it is ${layers[0]![1].format})` : ''}: use --quantize nf4 or drop --double-quant`,
    );
  for (const [, l] of nf4) l.doubleQuantizeScales();
  return nf4.length;
}

/** Whether any layer of the model holds a quantized weight. */
export function isQuantized(model: CausalLM): boolean {
  for (const [, m] of model.namedModules()) if (m instanceof QuantizedLinear) return true;
  return false;
}

/** Forget the dense weights quantizeModel(..., keepDense) kept and no LoftQ init took. */
export function dropDenseSources(model: Module): void {
  for (const [, m] of model.namedModules()) if (m instanceof QuantizedLinear) m.takeDenseSource();
}
