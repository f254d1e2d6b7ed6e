/** From a rendered prompt and candidate word to the exact string MeZO scores, and then to
 * token ids with the option length MeZO uses (large_models/utils.py `encode_prompt`). */
import { ColaError } from '../errors.js';
import type { ClassificationExample, RenderedChoice } from './examples.js';
import type { TextTokenizer } from './tokenizer.js';

/**
 * MeZO's templates all verbalize as `prompt + sep + candidate` where sep is one space
 * unless the prompt ends in a newline ("... It was great", "...Yes or No?\nYes",
 * COPA "... so the sun rose."). The prompt itself is `encode(sample).strip(' ')`.
 */
export function joinPromptCandidate(prompt: string, candidate: string): string {
  if (prompt === '' || /\s$/.test(prompt) || /^\s/.test(candidate)) return prompt + candidate;
  return `${prompt} ${candidate}`;
}

/** Python's str.strip(' '): spaces only, newlines are kept (MeZO strips prompts this way). */
export function stripSpaces(s: string): string {
  return s.replace(/^ +| +$/g, '');
}

export interface TokenizeChoiceOptions {
  addBos?: boolean;
  /** Labels errors, e.g. "RTE/train.jsonl line 12". */
  where?: string;
}

/**
 * Tokenizes the prompt and each full text as MeZO does (large_models/utils.py:138-139,
 * `encode_prompt`): option_len = len(encode(full)) - len(encode(prompt)), and the scored
 * tokens are the last option_len tokens of the full encoding (run.py:234 `forward`,
 * `selected_log_probs[-option_len:]`; utils.py:57-58 for training). When the prompt's tokens are a prefix of the full text's tokens
 * (nearly always) that is exactly the candidate's own tokens; when a merge crosses the
 * boundary, the full encoding is still the scored sequence and its tail the option, as
 * in MeZO. option_len < 1 is an error here: MeZO's `[-0:]` would score the whole text.
 */
export function tokenizeChoice(tok: TextTokenizer, r: RenderedChoice, opts: TokenizeChoiceOptions = {}): ClassificationExample {
  const addBos = opts.addBos ?? true;
  const prompt = stripSpaces(r.prompt);
  const promptIds = tok.encode(prompt, { addBos });
  const texts = r.candidates.map((c) => joinPromptCandidate(prompt, c));
  const fullIds = texts.map((text) => tok.encode(text, { addBos }));
  const candidateIds = fullIds.map((full, i) => {
    const optionLen = full.length - promptIds.length;
    if (optionLen < 1) {
      throw new ColaError(
        `${opts.where ?? 'example'}: candidate ${i} ("${r.candidates[i]}") adds no tokens to the prompt ` +
          `(${full.length} tokens with it, ${promptIds.length} without); every candidate needs at least one token to be scored`,
      );
    }
    return full.slice(full.length - optionLen);
  });
  return { promptIds, candidateIds, fullIds, label: r.label, prompt, candidates: r.candidates.slice(), texts };
}
