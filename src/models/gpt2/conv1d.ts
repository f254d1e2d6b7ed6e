import { Linear } from '../../nn/linear.js';
import { transpose } from '../../tensor/ops/shape.js';
import type { WeightSource } from '../weightSource.js';

/** GPT-2's Conv1D stores its weight [in, out] (y = x W + b). It is transposed
 * once here into a plain Linear [out, in], so LoRA, merges and kernels see the
 * usual layout, while the module keeps the checkpoint name (`attn.c_attn`) so
 * state-dict keys equal file keys. Anything that writes these weights back to a
 * GPT-2 checkpoint (merged export) must transpose them to [in, out] again. */
export function conv1dFrom(src: WeightSource, prefix: string, inF: number, outF: number): Linear {
  const stored = src.get(`${prefix}.weight`, [inF, outF], 'matrix')!; // (in, out)
  const bias = src.get(`${prefix}.bias`, [outF], 'bias')!;
  return new Linear(transpose(stored, 0, 1), bias); // weight (out, in)
}

/** Checkpoint keys of Conv1D weights in a GPT-2 state dict (stored transposed). */
export const CONV1D_WEIGHT = /(^|\.)(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
