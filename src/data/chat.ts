/** Chat rows (`{"messages": [...]}`) to an LM example with loss on assistant turns only. */
import { ColaError } from '../errors.js';
import type { LmExample } from './examples.js';
import type { ChatMessage, TextTokenizer } from './tokenizer.js';

export type ChatTemplateFn = (messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }) => string;

interface Span {
  start: number;
  end: number;
  train: boolean;
}

function templateOf(tok: TextTokenizer, override?: ChatTemplateFn): ChatTemplateFn {
  if (override) return override;
  if (tok.applyChatTemplate) return (m, o) => tok.applyChatTemplate!(m, o);
  throw new ColaError(
    'chat data ({"messages": [...]}) needs a chat template, but the tokenizer has none; use a model whose tokenizer_config.json has "chat_template", or convert the data to {"prompt","completion"}',
  );
}

/**
 * Character spans of the rendered conversation. Rendering prefix by prefix finds each
 * assistant turn: it starts where the template with `addGenerationPrompt` over the turns
 * before it ends, and stops where the template over the turns up to it ends (so the
 * end-of-turn marker is trained too, which teaches the model to stop).
 */
function assistantSpans(messages: ChatMessage[], render: ChatTemplateFn, where: string): { text: string; spans: Span[] } {
  const text = render(messages, { addGenerationPrompt: false });
  const spans: Span[] = [];
  let cursor = 0;
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== 'assistant') continue;
    const before = render(messages.slice(0, i), { addGenerationPrompt: true });
    const through = render(messages.slice(0, i + 1), { addGenerationPrompt: false });
    if (!through.startsWith(before) || !text.startsWith(through) || before.length < cursor) {
      throw new ColaError(
        `${where}: the chat template does not render turn ${i + 1} as a prefix of the whole conversation, so the assistant tokens cannot be located; use {"prompt","completion"} rows instead`,
      );
    }
    if (before.length > cursor) spans.push({ start: cursor, end: before.length, train: false });
    spans.push({ start: before.length, end: through.length, train: true });
    cursor = through.length;
  }
  if (cursor < text.length) spans.push({ start: cursor, end: text.length, train: false });
  return { text, spans };
}

/**
 * Tokenizes span by span so every token belongs to exactly one span (tokenizing the whole
 * text and mapping offsets back would need offsets our tokenizers do not report). Turn
 * boundaries sit on special tokens in real templates, so this matches whole-text encoding.
 */
export function chatToLm(
  tok: TextTokenizer,
  messages: ChatMessage[],
  opts: { template?: ChatTemplateFn; addBos?: boolean; where?: string } = {},
): LmExample {
  const where = opts.where ?? 'chat example';
  if (!messages.some((m) => m.role === 'assistant')) {
    throw new ColaError(`${where}: expected at least one message with role "assistant" (nothing to train on)`);
  }
  const { text, spans } = assistantSpans(messages, templateOf(tok, opts.template), where);
  const ids: number[] = [];
  const lossMask: number[] = [];
  for (const s of spans) {
    const piece = tok.encode(text.slice(s.start, s.end), { addBos: false });
    for (const id of piece) {
      ids.push(id);
      lossMask.push(s.train ? 1 : 0);
    }
  }
  // Templates often write the BOS text themselves; add it only when it is not there yet.
  if ((opts.addBos ?? true) && tok.bosId !== null && ids[0] !== tok.bosId) {
    ids.unshift(tok.bosId);
    lossMask.unshift(0);
  }
  return { ids, lossMask, text };
}
