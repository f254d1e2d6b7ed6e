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

function startsWith(ids: number[], prefix: number[]): boolean {
  if (prefix.length > ids.length) return false;
  for (let i = 0; i < prefix.length; i++) if (ids[i] !== prefix[i]) return false;
  return true;
}

export interface TokenizeChoiceOptions {
  addBos?: boolean;
  /** Labels errors, e.g. "RTE/train.jsonl line 12". */
  where?: string;
}

/**
 * Tokenizes the prompt and each full text. As MeZO, the option length is
 * len(encode(full)) - len(encode(prompt)) and the option tokens are the last ones of the
 * full text. When the full text's tokens do not start with the prompt's (a merge across
 * the boundary, rare with real tokenizers), the option is tokenized on its own instead.
 */
export function tokenizeChoice(tok: TextTokenizer, r: RenderedChoice, opts: TokenizeChoiceOptions = {}): ClassificationExample {
  const addBos = opts.addBos ?? true;
  const prompt = stripSpaces(r.prompt);
  const promptIds = tok.encode(prompt, { addBos });
  const texts = r.candidates.map((c) => joinPromptCandidate(prompt, c));
  const candidateIds = texts.map((text, i) => {
    const full = tok.encode(text, { addBos });
    if (startsWith(full, promptIds) && full.length > promptIds.length) return full.slice(promptIds.length);
    const alone = tok.encode(text.slice(prompt.length), { addBos: false });
    if (alone.length === 0) {
      throw new ColaError(
        `${opts.where ?? 'example'}: candidate ${i} ("${r.candidates[i]}") encodes to no tokens; every candidate needs at least one token to be scored`,
      );
    }
    return alone;
  });
  return { promptIds, candidateIds, label: r.label, prompt, candidates: r.candidates.slice(), texts };
}
