/** cola as a library: the same steps as the CLI, as functions. docs/API.md walks
 * through them; examples/finetune.mjs runs them end to end. */

// Models and tokenizers
export { getBackend, type BackendName } from './backend/index.js';
export type { Backend } from './backend/backend.js';
export { loadModel, randomModel, type LoadOptions } from './models/load.js';
export { saveModelFolder } from './models/save.js';
export { saveModelGguf } from './models/saveGguf.js';
export { CausalLM } from './models/causalLM.js';
export type { WeightDtype } from './models/weightSource.js';
// Quantized frozen bases (issue 17)
export { ALL_QUANT_FORMATS, QUANT_FORMATS, quantBytes, type QuantFormat, type QuantWeight } from './backend/quant/format.js';
export { quantize, dequantize } from './backend/quant/codec.js';
export { quantizeModel, isQuantized } from './models/quantize.js';
// GPTQ codes (--quantize-calibration): one layer, a whole model from its inputs, or a base on a run's data
export { gptqQuantize, type GptqLayerArgs } from './models/gptq.js';
export { calibrateQuantize, type CalibrationOptions, type CalibrationReport } from './models/calibrate.js';
export { quantizeCalibrated, type CalibratedBase } from './api/calibratedBase.js';
export { QuantizedLinear } from './nn/quantizedLinear.js';
export { loadTokenizer, type TextTokenizer, type ChatMessage } from './io/tokenizer.js';
export { loadPretrained, type Pretrained, type PretrainedOptions } from './api/load.js';
export { writeTinyModelFolder, TINY_MODEL_DEFAULTS, type TinyModelOptions } from './api/tinyModel.js';
export { syntheticText, type TextStyle } from './api/syntheticText.js';
export { convertLlama2c } from './io/convertLlama2c.js';
export { convertGguf } from './io/gguf/convertGguf.js';
export { tokenizerMetadataFor as ggufTokenizerMetadata } from './io/gguf/ggufTokenizer.js';
export { pullModel, type PullOptions, type PullResult } from './hub/pull.js';

// LoRA
export { DEFAULT_LORA_CONFIG, validateLoraConfig, type LoraConfig } from './lora/config.js';
export { applyLora, mergeAndUnload, loraLayers, trainableCount } from './lora/inject.js';
export { LoraLinear } from './lora/loraLinear.js';
export { saveLoraAdapter, saveChainAdapter, loadPeftAdapter, type SaveAdapterOptions } from './lora/peft.js';

// Training: fineTune() is `cola train`; runChain() is the chain runner underneath it
export { fineTune, runConfig, type FineTuneOptions, type FineTuneResult } from './api/fineTune.js';
export { runChain, type RunInputs, type RunSummary } from './cola/run.js';
export { makeRunConfig, resolveRunConfig, type Method, type RunConfig } from './cola/runConfig.js';
export { RUN_FLAGS, DATA_FLAGS, type RunFlags, type DataFlags } from './cola/runFlags.js';
export { exportChain } from './cola/export.js';
export { prepareData, textChunks, type DataSpec, type PrepareContext, type PreparedData } from './train/prepare.js';
export { MetricsLog, type RunEvent } from './train/metricsLog.js';
export { writeRunReport } from './report/runReport.js';

// Evaluation and generation
export { evaluateLm, evaluateClassification, type Metrics } from './eval/evaluate.js';
export { evaluateText } from './api/evaluateText.js';
export { evaluateFiles, type EvaluateFilesOptions } from './api/evaluateFiles.js';
export { generate, type SampleOptions } from './models/generate.js';
export { generateText, type GenerateTextOptions } from './api/generateText.js';

export { ColaError } from './errors.js';
