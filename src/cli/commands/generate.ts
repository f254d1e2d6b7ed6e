import { generateText } from '../../api/generateText.js';
import { ColaError } from '../../errors.js';
import { loadPeftAdapter } from '../../lora/peft.js';
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
    const temperature = v['temperature'] as number;
    // checked here too, to name the flag and fail before the model loads
    if (temperature < 0) throw new ColaError(`--temperature must be >= 0, got ${temperature}`);
    const { model, tokenizer } = loadModelAndTokenizer(v);
    if (v['adapter']) loadPeftAdapter(model, v['adapter'] as string);
    const text = generateText(model, tokenizer, v['prompt'] as string, {
      maxNewTokens: v['max-new-tokens'] as number,
      temperature,
      topK: v['top-k'] as number | undefined,
      topP: v['top-p'] as number | undefined,
      seed: v['seed'] as number,
    });
    process.stdout.write(text + '\n');
    return 0;
  },
};
