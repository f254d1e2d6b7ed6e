/** The start token MeZO gives OPT models on the paper's tasks. */
import type { TextTokenizer } from './tokenizer.js';

/** OPT's `<s>`: id 0 in every OPT vocabulary (fairseq dictionary order <s>, <pad>, </s>). */
export const OPT_MEZO_BOS = 0;

/**
 * MeZO large_models/run.py:174-176 ("HF tokenizer bug fix"): when the model name contains
 * "opt" it sets `tokenizer.bos_token_id = 0`, so every encoding starts with id 0 (`<s>`)
 * instead of id 2 (`</s>`, the bos_token of OPT's tokenizer_config.json, which HF
 * prepends). The paper's OPT numbers come from MeZO's code, so task data for a model whose
 * config.json says model_type "opt" starts with id 0 too. Other models, and text / JSONL
 * training data (which MeZO never runs), keep the tokenizer's own start token.
 */
export function taskTokenizer(tok: TextTokenizer, modelType: string | undefined): TextTokenizer {
  if (modelType !== 'opt') return tok;
  return {
    ...tok,
    bosId: OPT_MEZO_BOS,
    decode: (ids) => tok.decode(ids),
    encode(text, opts = {}) {
      const ids = tok.encode(text, { addBos: false });
      return opts.addBos ? [OPT_MEZO_BOS, ...ids] : ids;
    },
  };
}
