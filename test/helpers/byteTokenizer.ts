/** Test stand-ins: a byte-level tokenizer (id = byte + 3, BOS 1, EOS 2, pad 0) and a toy
 * chat template in the usual "role header, content, end marker" shape. */
import type { ChatMessage, TextTokenizer } from '../../src/data/tokenizer.js';

export const PAD = 0;
export const BOS = 1;
export const EOS = 2;

export function toyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
  let s = '';
  for (const m of messages) s += `<|${m.role}|>\n${m.content}<|end|>\n`;
  if (opts.addGenerationPrompt) s += '<|assistant|>\n';
  return s;
}

export function byteTokenizer(withChat = true): TextTokenizer {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const tok: TextTokenizer = {
    bosId: BOS,
    eosId: EOS,
    vocabSize: 259,
    encode(text, opts = {}) {
      const ids = Array.from(enc.encode(text), (b) => b + 3);
      return opts.addBos ? [BOS, ...ids] : ids;
    },
    decode(ids) {
      return dec.decode(Uint8Array.from(ids.filter((i) => i >= 3).map((i) => i - 3)));
    },
  };
  if (withChat) tok.applyChatTemplate = toyChatTemplate;
  return tok;
}
