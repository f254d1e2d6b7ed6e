import { generateText } from '../../api/generateText.js';
import { flagName } from '../../config/flags.js';
import { chatTemplateProblem, CHAT_TEMPLATE_NAMES } from '../../data/chatTemplates.js';
import { ColaError } from '../../errors.js';
import { jsonDepth, readTextFile } from '../../io/fileIo.js';
import type { ChatMessage } from '../../io/tokenizer.js';
import { loadPeftAdapter } from '../../lora/peft.js';
import { resolveSampleOptions, SAMPLE_DEFAULTS } from '../../models/generate.js';
import type { Command } from '../command.js';
import type { OptionValues } from '../options.js';
import { loadModelAndTokenizer, modelOptions } from '../setup.js';

const MAX_MESSAGES_FILE = 16 << 20;

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate text from a model folder (optionally with a PEFT/COLA adapter)',
  usage:
    'cola generate --model DIR (--prompt TEXT | --messages FILE.json [--chat-template NAME|FILE]) [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]',
  options: {
    ...modelOptions,
    adapter: { type: 'string', meta: 'DIR', help: 'PEFT adapter folder to apply (e.g. RUN_DIR/adapter)' },
    prompt: { type: 'string', help: 'prompt text; empty or left out starts from BOS alone' },
    messages: {
      type: 'string',
      meta: 'FILE',
      help: 'a conversation, [{"role","content"}, ...] or {"messages": [...]}: the chat template with its generation prompt is the prompt',
    },
    'chat-template': {
      type: 'string',
      meta: 'NAME|FILE',
      help: `chat template for --messages instead of the tokenizer's: ${CHAT_TEMPLATE_NAMES.join(', ')}, or a Jinja file`,
    },
    'max-new-tokens': { type: 'int', default: SAMPLE_DEFAULTS.maxNewTokens, help: 'tokens to generate at most' },
    temperature: { type: 'number', default: SAMPLE_DEFAULTS.temperature, help: '0 = greedy' },
    'top-k': { type: 'int', help: 'sample among the k most likely tokens (needs --temperature above 0)' },
    'top-p': { type: 'number', help: 'nucleus sampling mass (needs --temperature above 0)' },
    seed: { type: 'int', default: SAMPLE_DEFAULTS.seed, help: 'sampling seed' },
  },
  run(v) {
    const sampling = {
      maxNewTokens: v['max-new-tokens'] as number,
      temperature: v['temperature'] as number,
      topK: v['top-k'] as number | undefined,
      topP: v['top-p'] as number | undefined,
      seed: v['seed'] as number,
    };
    // checked here too, to name the flags and fail before the model loads
    resolveSampleOptions(sampling, (k) => `--${flagName(k)}`);
    const prompt = promptOf(v);
    const { model, tokenizer } = loadModelAndTokenizer(v);
    if (v['adapter']) loadPeftAdapter(model, v['adapter'] as string);
    const chatTemplate = v['chat-template'] as string | undefined;
    const text = generateText(model, tokenizer, prompt, { ...sampling, ...(chatTemplate ? { chatTemplate } : {}) });
    process.stdout.write(text + '\n');
    return 0;
  },
};

/** --prompt text, or the conversation of --messages (checked before the model loads). */
function promptOf(v: OptionValues): string | ChatMessage[] {
  const file = v['messages'] as string | undefined;
  const template = v['chat-template'] as string | undefined;
  if (file === undefined) {
    if (template !== undefined) throw new ColaError('--chat-template applies to --messages FILE; drop it, or give the conversation');
    return (v['prompt'] as string | undefined) ?? '';
  }
  if (v['prompt'] !== undefined) throw new ColaError('give --prompt TEXT or --messages FILE, not both');
  const problem = template === undefined ? null : chatTemplateProblem(template);
  if (problem) throw new ColaError(problem);
  return readMessages(file);
}

/** A conversation file: a JSON list of {"role", "content"}, or an object with "messages". */
export function readMessages(file: string): ChatMessage[] {
  let text: string;
  try {
    text = readTextFile(file, MAX_MESSAGES_FILE);
  } catch (e) {
    throw e instanceof ColaError ? e : new ColaError(`--messages ${file}: cannot read it (${(e as Error).message})`);
  }
  let value: unknown;
  try {
    if (jsonDepth(text, 8) > 8) throw new Error('nested too deep');
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new ColaError(`--messages ${file}: not valid JSON (${(e as Error).message})`);
  }
  const list = Array.isArray(value) ? value : (value as { messages?: unknown } | null)?.messages;
  const expected = 'expected [{"role": "user", "content": "..."}, ...] or {"messages": [...]}';
  if (!Array.isArray(list) || list.length === 0) throw new ColaError(`--messages ${file}: ${expected}`);
  const bad = list.flatMap((m, i) =>
    typeof m === 'object' && m !== null && typeof m.role === 'string' && typeof m.content === 'string' ? [] : [i + 1],
  );
  if (bad.length) throw new ColaError(`--messages ${file}: message(s) ${bad.join(', ')} lack a string "role" or "content"; ${expected}`);
  return list.map((m: ChatMessage) => ({ role: m.role, content: m.content }));
}
