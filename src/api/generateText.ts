/** Text in, text out, as `cola generate`: the prompt gets BOS, generation stops at any
 * EOS id (and at BOS for llama2.c models, as their run.c does). A conversation as the
 * prompt is rendered with the chat template and its generation prompt (`--messages`). */
import { chatPromptIds } from '../data/chat.js';
import { withChatTemplate } from '../data/chatTemplates.js';
import type { ChatMessage, TextTokenizer } from '../io/tokenizer.js';
import { ColaError } from '../errors.js';
import type { CausalLM } from '../models/causalLM.js';
import { generate, resolveSampleOptions, type SampleOptions } from '../models/generate.js';

export interface GenerateTextOptions extends SampleOptions {
  /** for a conversation prompt: a built-in template name or Jinja file instead of the tokenizer's */
  chatTemplate?: string;
}

/** The continuation of `prompt` (without the prompt): a string, or a conversation whose
 * next assistant turn is generated. Options not given take `cola generate`'s defaults
 * (SAMPLE_DEFAULTS: 256 new tokens, greedy, seed 0) and are checked as it checks them. */
export function generateText(
  model: CausalLM,
  tokenizer: TextTokenizer,
  prompt: string | ChatMessage[],
  options: GenerateTextOptions = {},
): string {
  const { chatTemplate, ...o } = options;
  resolveSampleOptions(o); // every bad option reported before any work
  if (chatTemplate !== undefined && typeof prompt === 'string')
    throw new ColaError('chatTemplate applies to a conversation prompt ([{role, content}, ...]); drop it for a text prompt');
  const ids =
    typeof prompt !== 'string'
      ? chatPromptIds(withChatTemplate(tokenizer, chatTemplate), prompt)
      : prompt
        ? tokenizer.encode(prompt, { addBos: true })
        : tokenizer.bosId !== null
          ? [tokenizer.bosId]
          : [];
  if (ids.length === 0) throw new ColaError('empty prompt and the tokenizer has no BOS token: give a prompt (cola generate: --prompt)');
  const llama2c = model.config['cola_source'] !== undefined && tokenizer.bosId !== null;
  const stopIds = o.stopIds ?? [...tokenizer.eosIds, ...(llama2c ? [tokenizer.bosId!] : [])];
  const out = generate(model, ids, { ...o, stopIds });
  // Decode prompt + continuation together so word-boundary spaces come out right, then cut the prompt off.
  const full = tokenizer.decode([...ids, ...out]);
  const head = tokenizer.decode(ids);
  return full.startsWith(head) ? full.slice(head.length) : tokenizer.decode(out);
}
