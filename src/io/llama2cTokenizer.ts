/** Read a llama2.c tokenizer .bin and convert it to a Hugging Face tokenizer.json that
 * encodes exactly like llama2.c's run.c `encode()`.
 *
 * File: int32 max_token_length, then per piece: float32 score, int32 len, len bytes (UTF-8).
 * The piece count is not stored (run.c takes it from the model): it is "until EOF".
 * Pieces have SentencePiece's `▁` replaced by ' '; ids 0/1/2 are <unk>, "\n<s>\n", "\n</s>\n";
 * ids 3..258 are the byte tokens <0x00>..<0xFF>.
 *
 * run.c encoding: prepend a space (non-empty text only), one token per code point (or its
 * UTF-8 bytes as ids byte + 3), then repeatedly merge the leftmost adjacent pair whose
 * concatenation is a piece with the highest score. HF BPE merges the pair of lowest rank
 * (leftmost on ties), so ranking every pair (a, b) with a + b a piece by the score of
 * a + b reproduces it (as transformers' SentencePiece converter does for Llama). Known
 * divergence: a literal '▁' (U+2581) in the input is a space to HF but unknown to run.c. */
import { ColaError } from '../errors.js';
import { fileSize, readExactly, withFd } from './fileIo.js';

export interface Llama2cVocab {
  maxTokenLength: number;
  /** Pieces as stored (spaces, not `▁`). */
  pieces: string[];
  scores: Float32Array;
}

const MAX_TOKEN_LENGTH = 1 << 16;
const MAX_PIECES = 1 << 22;
const SPECIALS = ['<unk>', '<s>', '</s>'];
const FIRST_NORMAL_ID = 3 + 256;
const MAX_TOKENIZER_BYTES = 256 << 20;

export function readLlama2cTokenizer(file: string, expectedVocabSize?: number): Llama2cVocab {
  const size = fileSize(file);
  if (size < 4) throw new ColaError(`${file}: ${size} bytes is too short for a llama2.c tokenizer (needs an int32 max_token_length)`);
  // a vocabulary of 256k pieces is a few MB; a bigger file is not a tokenizer
  if (size > MAX_TOKENIZER_BYTES) {
    throw new ColaError(
      `${file}: ${size} bytes is over the ${MAX_TOKENIZER_BYTES}-byte limit for a llama2.c tokenizer; is it the model file?`,
    );
  }
  const bytes = new Uint8Array(size);
  withFd(file, (fd) => readExactly(fd, bytes, 0, file));
  const view = new DataView(bytes.buffer);
  const maxTokenLength = view.getInt32(0, true);
  if (!(maxTokenLength >= 1 && maxTokenLength <= MAX_TOKEN_LENGTH)) {
    throw new ColaError(
      `${file}: max_token_length ${maxTokenLength} is outside 1..${MAX_TOKEN_LENGTH}; is this a llama2.c tokenizer .bin?`,
    );
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const pieces: string[] = [];
  const scores: number[] = [];
  let at = 4;
  while (at < size) {
    const id = pieces.length;
    if (id >= MAX_PIECES) throw new ColaError(`${file}: more than ${MAX_PIECES} pieces; the file is not a llama2.c tokenizer`);
    if (at + 8 > size) throw new ColaError(`${file}: piece ${id} header runs past the end of the file; the file is truncated`);
    const score = view.getFloat32(at, true);
    const len = view.getInt32(at + 4, true);
    if (!(len >= 0 && len <= maxTokenLength) || at + 8 + len > size) {
      throw new ColaError(
        `${file}: piece ${id} has length ${len}, expected 0..${maxTokenLength} (max_token_length) within the file; the file is truncated or corrupt`,
      );
    }
    try {
      pieces.push(decoder.decode(bytes.subarray(at + 8, at + 8 + len)));
    } catch {
      throw new ColaError(`${file}: piece ${id} is not valid UTF-8`);
    }
    scores.push(score);
    at += 8 + len;
  }
  checkVocab(file, pieces, expectedVocabSize);
  return { maxTokenLength, pieces, scores: Float32Array.from(scores) };
}

const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

function checkVocab(file: string, pieces: string[], expectedVocabSize?: number): void {
  if (expectedVocabSize !== undefined && pieces.length !== expectedVocabSize) {
    throw new ColaError(
      `${file}: has ${pieces.length} pieces but the model's vocab_size is ${expectedVocabSize}; use the tokenizer the model was trained with`,
    );
  }
  if (pieces.length < FIRST_NORMAL_ID) {
    throw new ColaError(`${file}: has ${pieces.length} pieces; a llama2.c tokenizer has 3 specials and 256 byte tokens first`);
  }
  const badBytes = Array.from({ length: 256 }, (_, b) => b).filter((b) => pieces[3 + b] !== byteToken(b));
  if (badBytes.length > 0) {
    throw new ColaError(
      `${file}: ids 3..258 must be the byte tokens <0x00>..<0xFF> (run.c maps byte b to id b + 3); ${badBytes.length} differ, e.g. id ${3 + badBytes[0]} is ${JSON.stringify(pieces[3 + badBytes[0]])}`,
    );
  }
  const seen = new Map<string, number>();
  const dups: string[] = [];
  pieces.forEach((p, id) => {
    if (id < 3) return;
    if (seen.has(p)) dups.push(`${JSON.stringify(p)} (ids ${seen.get(p)} and ${id})`);
    seen.set(p, id);
  });
  if (dups.length > 0) throw new ColaError(`${file}: duplicate pieces cannot map to one id each: ${dups.join(', ')}`);
}

/** HF piece spelling: specials by their usual names, spaces back to SentencePiece's `▁`. */
function hfPieces(vocab: Llama2cVocab): string[] {
  return vocab.pieces.map((p, id) => (id < 3 ? SPECIALS[id] : p.replaceAll(' ', '\u2581')));
}

/** Every pair (a, b) of normal pieces whose concatenation is a normal piece, ordered as
 * run.c would prefer them: highest score of a + b first (ties by id of a + b, then a). */
function deriveMerges(pieces: string[], scores: Float32Array): [string, string][] {
  const idOf = new Map<string, number>();
  for (let id = FIRST_NORMAL_ID; id < pieces.length; id++) idOf.set(pieces[id], id);
  const merges: { left: string; right: string; result: number; leftId: number }[] = [];
  for (const [piece, result] of idOf) {
    const chars = Array.from(piece); // HF BPE splits words into code points
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      const leftId = idOf.get(left);
      if (leftId !== undefined && idOf.has(right)) merges.push({ left, right, result, leftId });
    }
  }
  merges.sort((x, y) => scores[y.result] - scores[x.result] || x.result - y.result || x.leftId - y.leftId);
  return merges.map((m) => [m.left, m.right]);
}

/** tokenizer.json for the LlamaTokenizerFast (SentencePiece BPE, byte fallback) pipeline. */
export function toHfTokenizerJson(vocab: Llama2cVocab): Record<string, unknown> {
  const pieces = hfPieces(vocab);
  const vocabObj: Record<string, number> = {};
  pieces.forEach((p, id) => (vocabObj[p] = id));
  const merges = deriveMerges(pieces, vocab.scores);
  const special = (id: number) => ({
    id,
    content: SPECIALS[id],
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const bos = { SpecialToken: { id: '<s>', type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [0, 1, 2].map(special),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '\u2581' },
        { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        bos,
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: vocabObj,
      // "a b" strings (not pairs) so older tokenizers versions read it too; no piece has a ' '
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** tokenizer_config.json: BOS added by default, as llama2.c's run.c does. */
export function toHfTokenizerConfig(modelMaxLength?: number): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  SPECIALS.forEach((content, id) => {
    decoder[String(id)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  });
  return {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: decoder,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    clean_up_tokenization_spaces: false,
    ...(modelMaxLength ? { model_max_length: modelMaxLength } : {}),
    tokenizer_class: 'LlamaTokenizerFast',
  };
}
