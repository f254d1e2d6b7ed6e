import type { QuantizeArgs, QuantMatmulArgs } from '../backend.js';
import { ALL_QUANT_FORMATS, checkQuantWeight } from './format.js';

/** Shape checks shared by every backend's quantMatmul: x and out must hold the
 * product's operands (the native kernel relies on them). */
export function checkQuantMatmul(a: QuantMatmulArgs): void {
  checkQuantWeight(a.w, 'quantMatmul');
  if (a.mode !== 'forward' && a.mode !== 'inputGrad')
    throw new RangeError(`quantMatmul: mode must be forward or inputGrad, got ${String(a.mode)}`);
  if (!Number.isInteger(a.m) || a.m < 0) throw new RangeError(`quantMatmul: m must be a non-negative integer, got ${a.m}`);
  if (a.beta !== 0 && a.beta !== 1) throw new RangeError(`quantMatmul: beta must be 0 or 1, got ${a.beta}`);
  const [inF, outF] = a.mode === 'forward' ? [a.w.cols, a.w.rows] : [a.w.rows, a.w.cols];
  if (!(a.x instanceof Float32Array) || a.x.length < a.m * inF)
    throw new RangeError(`quantMatmul: x must be a Float32Array of at least ${a.m} x ${inF} values`);
  if (!(a.out instanceof Float32Array) || a.out.length < a.m * outF)
    throw new RangeError(`quantMatmul: out must be a Float32Array of at least ${a.m} x ${outF} values`);
}

/** Argument checks of Backend.quantize (the codec checks the same before it starts). */
export function checkQuantize(a: QuantizeArgs): void {
  if (!ALL_QUANT_FORMATS.includes(a.format))
    throw new RangeError(`quantize: unknown format ${String(a.format)} (one of ${ALL_QUANT_FORMATS.join(', ')})`);
  if (!Number.isInteger(a.rows) || !Number.isInteger(a.cols) || a.rows < 1 || a.cols < 1)
    throw new RangeError(`quantize: rows and cols must be positive integers, got ${a.rows} x ${a.cols}`);
  if (!(a.values instanceof Float32Array) || a.values.length !== a.rows * a.cols)
    throw new RangeError(`quantize: values must be a Float32Array of ${a.rows} x ${a.cols}`);
}
