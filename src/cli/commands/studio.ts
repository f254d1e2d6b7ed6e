import { ColaError } from '../../errors.js';
import type { Command } from '../command.js';
import { startStudio } from '../studioServer.js';

/** `cola studio`: the fine-tuning page in a browser (issue 20; docs/WEB.md). */
export const studioCommand: Command = {
  name: 'studio',
  summary: 'serve the fine-tuning page (WebGPU in the browser) with a model folder and data on 127.0.0.1',
  usage: 'cola studio --model DIR [--data FILE.txt|.jsonl] [--port P]',
  options: {
    model: { type: 'string', meta: 'DIR', help: 'Hugging Face model folder (config.json, model.safetensors, tokenizer.json)' },
    data: {
      type: 'string',
      meta: 'FILE',
      help: 'training data the page offers: a .txt corpus or JSONL (text, prompt/completion, messages)',
    },
    port: { type: 'int', default: 8765, help: 'port on 127.0.0.1 (0: a free one)' },
  },
  async run(v) {
    const model = v['model'] as string | undefined;
    if (!model)
      throw new ColaError('--model DIR is required (a Hugging Face model folder; `cola convert llama2c` makes one from a llama2.c .bin)');
    const port = v['port'] as number;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ColaError(`--port ${port}: expected 0 to 65535`);
    const { server, url, info } = await startStudio({ modelDir: model, dataFile: v['data'] as string | undefined }, port);
    process.stdout.write(
      `cola studio: open ${url} in a browser with WebGPU (Chrome/Edge; the page falls back to the CPU without it)\n` +
        `  model ${info.model.name} (${info.model.files.length} files), data ${info.data?.name ?? 'none (upload on the page)'}\n` +
        `  autorun: ${url}?autorun=cola&steps=30&seed=0   Ctrl-C stops\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        server.close();
        server.closeAllConnections();
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
