import { ColaError } from '../../errors.js';
import { loadPeftAdapter } from '../../lora/peft.js';
import { generate } from '../../models/generate.js';
import type { Command } from '../command.js';
import { loadModelAndTokenizer, modelOptions } from '../setup.js';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate text from a model folder (optionally with a PEFT/COLA adapter)',
  usage: 'cola generate --model DIR --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]',
  options: {
    ...modelOptions,
    adapter: { type: 'string', meta: 'DIR', help: 'PEFT adapter folder to apply (e.g. RUN_DIR/adapter)' },
    prompt: { type: 'string', default: '', help: 'prompt text; empty starts from BOS alone' },
    'max-new-tokens': { type: 'int', default: 256, help: 'tokens to generate at most' },
    temperature: { type: 'number', default: 0, help: '0 = greedy' },
    'top-k': { type: 'int', help: 'sample among the k most likely tokens' },
    'top-p': { type: 'number', help: 'nucleus sampling mass' },
    seed: { type: 'int', default: 0, help: 'sampling seed' },
  },
  run(v) {
    const { model, tokenizer } = loadModelAndTokenizer(v);
    if (v['adapter']) loadPeftAdapter(model, v['adapter'] as string);
    const prompt = v['prompt'] as string;
    const ids = prompt ? tokenizer.encode(prompt, { addBos: true }) : tokenizer.bosId !== null ? [tokenizer.bosId] : [];
    if (ids.length === 0) throw new ColaError('empty prompt and the tokenizer has no BOS token: give --prompt');
    const temperature = v['temperature'] as number;
    if (temperature < 0) throw new ColaError(`--temperature must be >= 0, got ${temperature}`);
    const eos = (tokenizer as { eosIds?: number[] }).eosIds ?? (tokenizer.eosId !== null ? [tokenizer.eosId] : []);
    // llama2.c models end a story with BOS: stop there too (its run.c does).
    const stopIds = [...eos, ...(model.config['cola_source'] && tokenizer.bosId !== null ? [tokenizer.bosId] : [])];
    const out = generate(model, ids, {
      maxNewTokens: v['max-new-tokens'] as number,
      temperature,
      topK: v['top-k'] as number | undefined,
      topP: v['top-p'] as number | undefined,
      seed: v['seed'] as number,
      stopIds,
    });
    // Decode prompt + continuation together so word-boundary spaces come out right, then cut the prompt off.
    const full = tokenizer.decode([...ids, ...out]);
    const head = tokenizer.decode(ids);
    process.stdout.write((full.startsWith(head) ? full.slice(head.length) : tokenizer.decode(out)) + '\n');
    return 0;
  },
};
