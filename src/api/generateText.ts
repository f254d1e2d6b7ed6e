/** Text in, text out, as `cola generate`: the prompt gets BOS, generation stops at any
 * EOS id (and at BOS for llama2.c models, as their run.c does). */
import type { TextTokenizer } from '../io/tokenizer.js';
import { ColaError } from '../errors.js';
import type { CausalLM } from '../models/causalLM.js';
import { generate, type SampleOptions } from '../models/generate.js';

export type GenerateTextOptions = Partial<SampleOptions>;

/** The continuation of `prompt` (without the prompt). Defaults: 64 new tokens, greedy. */
export function generateText(model: CausalLM, tokenizer: TextTokenizer, prompt: string, o: GenerateTextOptions = {}): string {
  const ids = prompt ? tokenizer.encode(prompt, { addBos: true }) : tokenizer.bosId !== null ? [tokenizer.bosId] : [];
  if (ids.length === 0) throw new ColaError('empty prompt and the tokenizer has no BOS token: give a prompt (cola generate: --prompt)');
  if ((o.temperature ?? 0) < 0) throw new ColaError(`temperature must be >= 0, got ${o.temperature}`);
  const llama2c = model.config['cola_source'] !== undefined && tokenizer.bosId !== null;
  const stopIds = o.stopIds ?? [...tokenizer.eosIds, ...(llama2c ? [tokenizer.bosId!] : [])];
  const out = generate(model, ids, { maxNewTokens: 64, temperature: 0, ...o, stopIds });
  // Decode prompt + continuation together so word-boundary spaces come out right, then cut the prompt off.
  const full = tokenizer.decode([...ids, ...out]);
  const head = tokenizer.decode(ids);
  return full.startsWith(head) ? full.slice(head.length) : tokenizer.decode(out);
}
