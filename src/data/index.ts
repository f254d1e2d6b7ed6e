/** Public API of the data layer. */
export type { ChatMessage, TextTokenizer } from './tokenizer.js';
export type { ClassificationExample, LmExample, RenderedChoice } from './examples.js';
export { parseJsonl, readJsonl, type JsonlResult } from './jsonl.js';
export {
  checkRow,
  detectFormat,
  loadJsonlDataset,
  promptCompletionToLm,
  rowToLm,
  textToLm,
  type LoadedDataset,
  type RowFormat,
} from './formats.js';
export { chatToLm, type ChatTemplateFn } from './chat.js';
export { joinPromptCandidate, stripSpaces, tokenizeChoice } from './verbalize.js';
export { goldToLm } from './goldLm.js';
export { checkMaxLength, resolveMaxLength, type SplitCounts } from './maxLength.js';
export { OPT_MEZO_BOS, taskTokenizer } from './startToken.js';
export { truncateLeft, truncateLmExample } from './truncate.js';
export { IGNORE, batchOrder, collateClassification, collateLm, type ClassificationBatch, type LmBatch } from './batching.js';
export { RandomState } from './numpyRandom.js';
export { carveFromVal, mezoSample, type SampleSizes } from './sampling.js';
export { loadTaskData, type DataSource, type TaskData, type TaskDataOptions } from './taskData.js';
export { taskSummary, type TaskSummary } from './summary.js';
export { TASKS, getTask, taskNames, type TaskSpec } from './tasks/registry.js';
