/** Chat rows (`{"messages": [...]}`) to an LM example with loss on assistant turns only. */
import { ColaError } from '../errors.js';
import { CHAT_TEMPLATE_NAMES } from './chatTemplates.js';
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
    'chat data ({"messages": [...]}) needs a chat template, but the tokenizer has none: give one with --chat-template ' +
      `(${CHAT_TEMPLATE_NAMES.join(', ')}, or a Jinja file; fineTune: chatTemplate), or convert the data to {"prompt","completion"}`,
  );
}

/**
 * Character spans of the rendered conversation. Rendering prefix by prefix finds each
 * assistant turn: it starts where the template with `addGenerationPrompt` over the turns
 * before it ends, and stops where the template over the turns up to it ends (so the
 * end-of-turn marker is trained too, which teaches the model to stop).
 */
export function assistantSpans(messages: ChatMessage[], render: ChatTemplateFn, where: string): { text: string; spans: Span[] } {
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
 * The whole rendered text is tokenized once, as transformers' apply_chat_template does and
 * as the prompt is at generation time (tokenizing span by span would differ: a
 * SentencePiece tokenizer prepends "▁" to every piece it is given). Each token is then
 * given to a span by tokenizing the text up to every span end: the tokens that prefix
 * shares with the whole are the tokens before that end. A token that straddles a span end
 * (the prefix tokenizes differently from there) goes to the span after it.
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
  const ids = tok.encode(text, { addBos: false });
  const lossMask: number[] = [];
  for (const s of spans) {
    const head = s.end === text.length ? ids : tok.encode(text.slice(0, s.end), { addBos: false });
    let shared = 0;
    while (shared < head.length && shared < ids.length && head[shared] === ids[shared]) shared++;
    if (head.length > shared) shared = Math.max(shared, lossMask.length); // straddling token: the next span's
    while (lossMask.length < shared) lossMask.push(s.train ? 1 : 0);
  }
  while (lossMask.length < ids.length) lossMask.push(0);
  // Templates often write the BOS text themselves; add it only when it is not there yet.
  if ((opts.addBos ?? true) && tok.bosId !== null && ids[0] !== tok.bosId) {
    ids.unshift(tok.bosId);
    lossMask.unshift(0);
  }
  return { ids, lossMask, text };
}

/** The ids of a conversation's prompt for the next assistant turn (the template with its
 * generation prompt), with BOS in front unless the template wrote it, as chatToLm does. */
export function chatPromptIds(tok: TextTokenizer, messages: ChatMessage[], template?: ChatTemplateFn): number[] {
  const ids = tok.encode(templateOf(tok, template)(messages, { addGenerationPrompt: true }), { addBos: false });
  return tok.bosId !== null && ids[0] !== tok.bosId ? [tok.bosId, ...ids] : ids;
}
