/** Held-out loss and perplexity of a model on plain text, as `cola eval --data FILE.txt`. */
import type { TextTokenizer } from '../data/tokenizer.js';
import { evaluateLm, type Metrics } from '../eval/evaluate.js';
import type { CausalLM } from '../models/causalLM.js';
import { textChunks } from '../train/prepare.js';

/** The text is cut into windows of `maxLength` tokens (default 256, at most the model's
 * context), each starting with BOS; returns { loss, perplexity, tokens }. */
export function evaluateText(model: CausalLM, tokenizer: TextTokenizer, text: string, opts: { maxLength?: number } = {}): Metrics {
  const maxLength = Math.min(opts.maxLength ?? 256, model.dims.maxPositions);
  return evaluateLm(model, textChunks(text, tokenizer, maxLength), tokenizer.eosId ?? 0);
}
