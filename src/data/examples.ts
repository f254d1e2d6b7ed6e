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
 * candidate i is `fullIds[i]`, the encoding of `texts[i]`, and its score is the mean
 * log-probability of its last `candidateIds[i].length` tokens (MeZO run.py `forward`,
 * `selected_log_probs[-option_len:]`). Usually `fullIds[i] = promptIds ++ candidateIds[i]`;
 * see tokenizeChoice for when it is not.
 */
export interface ClassificationExample {
  /** The prompt alone, encoded (MeZO: its length sets option_len). */
  promptIds: number[];
  /** The option tokens of candidate i: the last tokens of fullIds[i]. */
  candidateIds: number[][];
  /** The whole scored sequence of candidate i (MeZO utils.py encode_prompt `encodings`). */
  fullIds: number[][];
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
