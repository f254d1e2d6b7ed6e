import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../errors.js';
import { getBackend, type BackendName } from '../../backend/index.js';
import { checkOutputDir } from '../../io/runFolder.js';
import { loadPeftAdapter } from '../../lora/peft.js';
import { mergeAndUnload } from '../../lora/inject.js';
import { loadModel } from '../../models/load.js';
import { saveModelFolder } from '../../models/save.js';
import type { Command } from '../command.js';
import { maxMemoryOption, maxMemoryOf } from '../setup.js';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'];

export const exportCommand: Command = {
  name: 'export',
  summary: 'export a model with its adapter merged in as a plain Hugging Face model folder',
  usage: 'cola export merged --model DIR --adapter ADAPTER_DIR --out DIR [--dtype f32|bf16] [--max-shard-mb N]',
  options: {
    model: { type: 'string', meta: 'DIR', required: true, help: 'base model folder the adapter was trained on' },
    adapter: { type: 'string', meta: 'DIR', required: true, help: 'PEFT adapter folder (e.g. RUN_DIR/adapter)' },
    out: { type: 'string', meta: 'DIR', required: true, help: 'folder to write the merged model to' },
    // f32 by default so W + BA is computed and stored without rounding.
    dtype: { type: 'string', default: 'f32', choices: ['f32', 'bf16'], help: 'precision of the merged weights' },
    'max-shard-mb': { type: 'number', help: 'split model.safetensors into shards of at most this many MB' },
    backend: { type: 'string', choices: ['native', 'reference'], help: 'compute backend (default: native when built; env COLA_BACKEND)' },
    ...maxMemoryOption,
  },
  run(v, pos) {
    const kind = pos[0];
    if (kind !== 'merged') {
      throw new ColaError(
        `${kind ? `unknown export kind "${kind}"` : 'say what to export'}; supported: merged (usage: cola export merged --model DIR --adapter ADAPTER_DIR --out DIR)`,
      );
    }
    if (pos.length > 1)
      throw new ColaError(`unexpected argument "${pos[1]}" (usage: cola export merged --model DIR --adapter ADAPTER_DIR --out DIR)`);
    const dir = v['model'] as string;
    const out = v['out'] as string;
    const shardMb = v['max-shard-mb'] as number | undefined;
    if (shardMb !== undefined && shardMb <= 0) throw new ColaError(`--max-shard-mb must be > 0, got ${shardMb}`);
    if (!fs.existsSync(dir)) throw new ColaError(`--model ${dir}: folder not found`);
    if (path.resolve(out) === path.resolve(dir))
      throw new ColaError('--out must differ from --model (the base model would be overwritten)');
    checkOutputDir(out, '--out', { allowRun: false });
    const model = loadModel(dir, {
      backend: getBackend(v['backend'] as BackendName | undefined),
      dtype: v['dtype'] as 'f32' | 'bf16',
      maxMemory: maxMemoryOf(v),
    });
    loadPeftAdapter(model, v['adapter'] as string);
    mergeAndUnload(model);
    saveModelFolder(model, out, { maxShardBytes: shardMb !== undefined ? Math.floor(shardMb * 1024 * 1024) : undefined });
    const copied = TOKENIZER_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
    for (const f of copied) copyAtomic(path.join(dir, f), path.join(out, f));
    process.stderr.write(
      `cola export: wrote the merged model (${model.weightDtype}) to ${out}${copied.length ? ` with ${copied.join(', ')}` : ' (the base folder has no tokenizer files)'}\n`,
    );
    return 0;
  },
};

/** Copy to a temp name beside the target, then rename: a reader never sees half a file. */
function copyAtomic(src: string, dst: string): void {
  const tmp = `${dst}.tmp-${process.pid}`;
  fs.copyFileSync(src, tmp);
  fs.renameSync(tmp, dst);
}
