/** Chat templates for models that ship none (every llama2.c conversion, most base models),
 * chosen with `--chat-template NAME|FILE` (fineTune: `chatTemplate`). Each built-in is
 * written here from the format's documented token layout (cited above it); special tokens
 * that every model has come from the tokenizer as `bos_token` / `eos_token`, the rest are
 * the format's literal markers. They render through the same budgeted renderer as a
 * folder's own chat_template (io/chatTemplate.ts).
 *
 * Every template renders a conversation so that the rendering of its first turns (with
 * the generation prompt) is a prefix of the whole: chat.ts finds the assistant turns that
 * way. A system message a format has no slot for is put before the first user message. */
import * as fs from 'node:fs';
import { ColaError } from '../errors.js';
import { readTextFile } from '../io/fileIo.js';
import { chatTemplateRenderer } from '../io/tokenizer.js';
import type { TextTokenizer } from './tokenizer.js';

const MAX_TEMPLATE_FILE = 1 << 20;

/** `system` as the first message, folded into the first user turn ("system\n\nuser"). */
const FOLD_SYSTEM = String.raw`{%- if messages and messages[0]['role'] == 'system' -%}
{%- set system = messages[0]['content'] -%}{%- set turns = messages[1:] -%}
{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}`;

const ROLE_ERROR = (name: string, roles: string) =>
  String.raw`{{ raise_exception('the ${name} chat template knows the roles ${roles}; found "' + m['role'] + '"') }}`;

export const BUILTIN_CHAT_TEMPLATES: Record<string, { about: string; source: string }> = {
  // OpenAI's ChatML (github.com/openai/openai-python/blob/v0.28.1/chatml.md), as Qwen2 and
  // the HF docs' default template write it: <|im_start|>role\ncontent<|im_end|>\n.
  chatml: {
    about: '<|im_start|>role\\n...<|im_end|> (ChatML: Qwen, OpenHermes, SmolLM)',
    source: String.raw`{%- for m in messages -%}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}`,
  },
  // Llama 2 chat (huggingface.co/blog/llama2#how-to-prompt-llama-2; Meta's
  // llama/generation.py chat_completion): every exchange is
  // <s>[INST] user [/INST] answer </s>, the system prompt in <<SYS>> inside the first one.
  'llama-2': {
    about: '<s>[INST] <<SYS>>...<</SYS>> user [/INST] answer </s> (Llama 2 chat)',
    source: String.raw`{%- if messages and messages[0]['role'] == 'system' -%}
{%- set system = '<<SYS>>\n' + messages[0]['content'] + '\n<</SYS>>\n\n' -%}{%- set turns = messages[1:] -%}
{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}
{%- for m in turns -%}
{%- if m['role'] == 'user' -%}{{ bos_token + '[INST] ' + (system if loop.first else '') + m['content'] + ' [/INST]' }}
{%- elif m['role'] == 'assistant' -%}{{ ' ' + m['content'] + ' ' + eos_token }}
{%- else -%}${ROLE_ERROR('llama-2', 'system (first), user, assistant')}{%- endif -%}
{%- endfor -%}`,
  },
  // Llama 3 instruct (llama.com/docs/model-cards-and-prompt-formats/meta-llama-3):
  // <|begin_of_text|> then <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>.
  'llama-3': {
    about: '<|start_header_id|>role<|end_header_id|>\\n\\n...<|eot_id|> (Llama 3, 3.1, 3.2)',
    source: String.raw`{{ bos_token }}{%- for m in messages -%}
{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] | trim + '<|eot_id|>' }}
{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif -%}`,
  },
  // Mistral 7B Instruct (huggingface.co/mistralai/Mistral-7B-Instruct-v0.1, "Instruction
  // format"): <s>[INST] user [/INST]answer</s>[INST] user [/INST]...; no system slot.
  mistral: {
    about: '<s>[INST] user [/INST]answer</s> (Mistral / Mixtral instruct)',
    source: String.raw`${FOLD_SYSTEM}{{ bos_token }}{%- for m in turns -%}
{%- if m['role'] == 'user' -%}{{ '[INST] ' + (system + '\n\n' if loop.first and system else '') + m['content'] + ' [/INST]' }}
{%- elif m['role'] == 'assistant' -%}{{ m['content'] + eos_token }}
{%- else -%}${ROLE_ERROR('mistral', 'system (first), user, assistant')}{%- endif -%}
{%- endfor -%}`,
  },
  // Zephyr (huggingface.co/HuggingFaceH4/zephyr-7b-beta, "Intended uses"):
  // <|system|>\n...</s>\n<|user|>\n...</s>\n<|assistant|>\n...</s>\n
  zephyr: {
    about: '<|user|>\\n...</s> (Zephyr, TinyLlama-Chat)',
    source: String.raw`{%- for m in messages -%}{{ '<|' + m['role'] + '|>\n' + m['content'] + eos_token + '\n' }}{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<|assistant|>\n' }}{%- endif -%}`,
  },
  // Gemma instruct (ai.google.dev/gemma/docs/core/prompt-structure): <bos> then
  // <start_of_turn>user|model\ncontent<end_of_turn>\n; no system role, so it goes first
  // in the first user turn (as Gemma 3's own template does).
  gemma: {
    about: '<start_of_turn>user\\n...<end_of_turn> (Gemma; the assistant is "model")',
    source: String.raw`${FOLD_SYSTEM}{{ bos_token }}{%- for m in turns -%}
{%- if m['role'] == 'user' -%}{{ '<start_of_turn>user\n' + (system + '\n\n' if loop.first and system else '') + m['content'] + '<end_of_turn>\n' }}
{%- elif m['role'] == 'assistant' -%}{{ '<start_of_turn>model\n' + m['content'] + '<end_of_turn>\n' }}
{%- else -%}${ROLE_ERROR('gemma', 'system (first), user, assistant')}{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}`,
  },
  // Phi-3 (huggingface.co/microsoft/Phi-3-mini-4k-instruct, "Chat Format"):
  // <|system|>\n...<|end|>\n<|user|>\n...<|end|>\n<|assistant|>\n...<|end|>\n
  'phi-3': {
    about: '<|user|>\\n...<|end|> (Phi-3, Phi-3.5)',
    source: String.raw`{%- for m in messages -%}{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<|assistant|>\n' }}{%- endif -%}`,
  },
};

export const CHAT_TEMPLATE_NAMES: readonly string[] = Object.freeze(Object.keys(BUILTIN_CHAT_TEMPLATES));

/** The Jinja source `nameOrFile` stands for: a built-in name, else a file (give
 * `./chatml` for a file that shares a built-in's name). */
export function chatTemplateSource(nameOrFile: string): string {
  const builtin = BUILTIN_CHAT_TEMPLATES[nameOrFile];
  if (builtin) return builtin.source;
  if (!fs.existsSync(nameOrFile) || !fs.statSync(nameOrFile).isFile()) throw new ColaError(chatTemplateProblem(nameOrFile)!);
  return readTextFile(nameOrFile, MAX_TEMPLATE_FILE);
}

/** Null when `nameOrFile` names a built-in template or an existing file, else why not
 * (for validation before a model loads). */
export function chatTemplateProblem(nameOrFile: string): string | null {
  if (BUILTIN_CHAT_TEMPLATES[nameOrFile] || (fs.existsSync(nameOrFile) && fs.statSync(nameOrFile).isFile())) return null;
  const builtins = Object.entries(BUILTIN_CHAT_TEMPLATES).map(([name, t]) => `\n    ${name.padEnd(8)} ${t.about}`);
  return `--chat-template ${JSON.stringify(nameOrFile)}: neither a built-in template (${CHAT_TEMPLATE_NAMES.join(', ')}) nor a Jinja file; the built-ins:${builtins.join('')}`;
}

/** `tok` with its applyChatTemplate replaced by `nameOrFile`'s template (unchanged when
 * undefined). The template sees the tokenizer's own special-token texts; a tokenizer
 * that does not report them gets the decoded BOS / EOS ids. */
export function withChatTemplate<T extends TextTokenizer>(tok: T, nameOrFile: string | undefined): T {
  if (nameOrFile === undefined) return tok;
  const spelled = (id: number | null) => (id === null ? '' : tok.decode([id]));
  const vars = tok.templateVars ?? { bos_token: spelled(tok.bosId), eos_token: spelled(tok.eosId) };
  const render = chatTemplateRenderer(chatTemplateSource(nameOrFile), vars, `--chat-template ${nameOrFile}`);
  // a copy, as taskTokenizer makes (tokenizers are plain objects of fields and closures)
  return { ...tok, applyChatTemplate: render };
}
