/** cola in the browser (issue 20): the library's entry, bundled by scripts/buildWeb.ts into
 * dist/web/cola.js (ESM, no Node built-ins). The library reads and writes files through
 * node:fs, which the bundle maps to an in-memory file tree (platform/fs.ts): put a model
 * folder and data into it (`putFile`, `putFiles` from fetch or File), call the same
 * functions as in Node, read the run folder back (`readFile`). Backends: the reference
 * (plain TypeScript) anywhere, webgpu in a dedicated worker (createWebGpuBackend);
 * there is no native addon and no getBackend() here: pass the backend to loadModel.
 * docs/WEB.md. */
export type { Backend } from '../backend/backend.js';
export { referenceBackend } from '../backend/reference/index.js';
export { createWebGpuBackend, type WebGpuBackend } from '../backend/webgpu/index.js';
export { putFile, readFileSync as readFile, existsSync as fileExists, listFiles, rmSync as removeFile } from './platform/fs.js';
export { putFiles, fetchFiles } from './files.js';

export { loadModel, randomModel, type LoadOptions } from '../models/load.js';
export { CausalLM } from '../models/causalLM.js';
export { loadTokenizer, type TextTokenizer, type ChatMessage } from '../io/tokenizer.js';
export { writeTinyModelFolder, TINY_MODEL_DEFAULTS, type TinyModelOptions } from '../api/tinyModel.js';
export { convertLlama2c } from '../io/convertLlama2c.js';

export { DEFAULT_LORA_CONFIG, validateLoraConfig, type LoraConfig } from '../lora/config.js';
export { applyLora, mergeAndUnload, loraLayers, trainableCount } from '../lora/inject.js';
export { LoraLinear } from '../lora/loraLinear.js';
export { saveLoraAdapter, saveChainAdapter, loadPeftAdapter, type SaveAdapterOptions } from '../lora/peft.js';

export { fineTune, runConfig, type FineTuneOptions, type FineTuneResult } from '../api/fineTune.js';
export { runChain, type RunInputs, type RunSummary } from '../cola/run.js';
export { makeRunConfig, resolveRunConfig, type Method, type RunConfig } from '../cola/runConfig.js';
export { RUN_FLAGS, DATA_FLAGS, type RunFlags, type DataFlags } from '../cola/runFlags.js';
export { prepareData, textChunks, type DataSpec, type PrepareContext, type PreparedData } from '../train/prepare.js';
export type { RunEvent } from '../train/metricsLog.js';

export { evaluateLm, evaluateClassification, type Metrics } from '../eval/evaluate.js';
export { evaluateText } from '../api/evaluateText.js';
export { evaluateFiles, type EvaluateFilesOptions } from '../api/evaluateFiles.js';
export { generate, type SampleOptions } from '../models/generate.js';
export { generateText, type GenerateTextOptions } from '../api/generateText.js';
export { evaluateDataFile } from './evalFile.js';

export { ColaError } from '../errors.js';
