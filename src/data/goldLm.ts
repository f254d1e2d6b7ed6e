/** MeZO's non-classification training, which finetune.sh uses for Copa
 * (`--train_as_classification False`, after the general `--train_as_classification`):
 * teacher forcing on the gold candidate's full encoding, with the loss on its option
 * tokens only, because run.py:58 defaults `only_train_option` to True (run.py:381-387
 * builds the row, utils.py:57-58 masks every label but the last option_len). */
import type { ClassificationExample, LmExample } from './examples.js';

export function goldToLm(ex: ClassificationExample): LmExample {
  const ids = ex.fullIds[ex.label].slice();
  const optionStart = ids.length - ex.candidateIds[ex.label].length;
  return { ids, lossMask: ids.map((_, i) => (i >= optionStart ? 1 : 0)), text: ex.texts[ex.label] };
}
