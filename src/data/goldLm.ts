/** MeZO's non-classification training (finetune.sh: Copa uses --train_as_classification
 * False): teacher forcing on the gold candidate's full text. Loss on every token (MeZO's
 * default, labels = input_ids) or, with `optionOnly` (MeZO --only_train_option), on the
 * option tokens only. */
import type { ClassificationExample, LmExample } from './examples.js';

export function goldToLm(ex: ClassificationExample, opts: { optionOnly?: boolean; bosId?: number | null } = {}): LmExample {
  const option = ex.candidateIds[ex.label];
  const ids = [...ex.promptIds, ...option];
  const lossMask = ids.map((id, i) => {
    if (i >= ex.promptIds.length) return 1;
    if (opts.optionOnly) return 0;
    return i === 0 && id === opts.bosId ? 0 : 1;
  });
  return { ids, lossMask, text: ex.texts[ex.label] };
}
