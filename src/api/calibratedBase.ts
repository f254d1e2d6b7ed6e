/** A --quantize base with GPTQ codes calibrated on the run's own training data
 * (`--quantize-calibration N`, issue 17): the dense base runs the first N training
 * examples (in the data's order, so the same flags give the same codes), then its linear
 * layers are quantized by models/calibrate.ts. `cola train`, `cola experiment` cells and
 * `cola eval --run` build the base through this one function. */
import type { QuantFormat } from '../backend/quant/format.js';
import { ColaError } from '../errors.js';
import { calibrateQuantize, type CalibrationReport } from '../models/calibrate.js';
import type { CausalLM } from '../models/causalLM.js';
import { doubleQuantizeModel, isQuantized } from '../models/quantize.js';
import type { Objective } from '../train/objective.js';

/** Examples per calibration forward pass. */
const CALIBRATION_BATCH = 8;

export interface CalibratedBase {
  format: QuantFormat;
  /** training examples to calibrate on (the first N of the objective) */
  examples: number;
  /** nf4: double-quantize the block scales afterwards (--double-quant) */
  doubleQuant?: boolean;
}

export function quantizeCalibrated(model: CausalLM, train: Objective, o: CalibratedBase): CalibrationReport {
  if (!Number.isInteger(o.examples) || o.examples < 1)
    throw new ColaError(`--quantize-calibration must be a positive number of training examples, got ${o.examples}`);
  if (o.examples > train.size)
    throw new ColaError(
      `--quantize-calibration ${o.examples}: the run has only ${train.size} training examples (sequences); give at most ${train.size}`,
    );
  if (isQuantized(model))
    throw new ColaError(
      '--quantize-calibration quantizes a dense base, but this base is already quantized (a quantized GGUF or llama2.c file?)',
    );
  const report = calibrateQuantize(model, {
    format: o.format,
    examples: o.examples,
    batches: Math.ceil(o.examples / CALIBRATION_BATCH),
    forward: (m, batch) => {
      const first = batch * CALIBRATION_BATCH;
      const idx = Array.from({ length: Math.min(CALIBRATION_BATCH, o.examples - first) }, (_, k) => first + k);
      train.loss(m, idx);
    },
  });
  if (o.doubleQuant) doubleQuantizeModel(model);
  return report;
}
