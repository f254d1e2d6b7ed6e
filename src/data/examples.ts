/** The tokenized example types every trainer consumes. */

/** A language-modelling example: `lossMask[t] = 1` means token t is predicted (from t-1). */
export interface LmExample {
  ids: number[];
  lossMask: number[];
  /** The rendered text, for display (`cola data --show`). */
  text: string;
}

/**
 * A multiple-choice example (MeZO "train_as_classification"): the scored sequence for
 * candidate i is `promptIds ++ candidateIds[i]`, and its score is the mean log-probability
 * of the candidateIds[i] tokens (MeZO `forward`, `selected_log_probs[-option_len:]`).
 */
export interface ClassificationExample {
  promptIds: number[];
  candidateIds: number[][];
  label: number;
  /** Raw strings for display: the prompt, the candidate words, the full texts scored. */
  prompt: string;
  candidates: string[];
  texts: string[];
}

/** A classification example before tokenization. */
export interface RenderedChoice {
  prompt: string;
  candidates: string[];
  label: number;
}
