import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../errors.js';
import { getBackend, type BackendName } from '../../backend/index.js';
import { GGUF_WRITE_TYPES, type GgufWriteType } from '../../io/gguf/ggufLlamaWriter.js';
import { isGgufFile } from '../../io/gguf/ggufPath.js';
import { tokenizerMetadataFor } from '../../io/gguf/ggufTokenizer.js';
import { checkOutputDir } from '../../io/runFolder.js';
import { loadPeftAdapter } from '../../lora/peft.js';
import { mergeAndUnload } from '../../lora/inject.js';
import type { CausalLM } from '../../models/causalLM.js';
import { loadModel } from '../../models/load.js';
import { saveModelFolder } from '../../models/save.js';
import { saveModelGguf } from '../../models/saveGguf.js';
import type { Command } from '../command.js';
import type { OptionValues } from '../options.js';
import { maxMemoryOption, maxMemoryOf } from '../setup.js';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'];
const USAGE_MERGED = 'cola export merged --model DIR --adapter ADAPTER_DIR --out DIR [--dtype f32|bf16] [--max-shard-mb N]';
const USAGE_GGUF = `cola export gguf --model DIR|FILE.gguf [--adapter ADAPTER_DIR] --out FILE.gguf [--gguf-type ${GGUF_WRITE_TYPES.join('|')}]`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'export a model with its adapter merged in, as a Hugging Face model folder or a llama.cpp GGUF file',
  usage: `${USAGE_MERGED}\n${USAGE_GGUF}\n\n  merged  a plain Hugging Face folder (config.json, model.safetensors, tokenizer files)\n  gguf    one GGUF file llama.cpp loads (llama models; the adapter is optional: without one the base model is written)`,
  options: {
    model: { type: 'string', meta: 'DIR', required: true, help: 'base model folder the adapter was trained on (gguf: a .gguf file too)' },
    adapter: { type: 'string', meta: 'DIR', help: 'PEFT adapter folder (e.g. RUN_DIR/adapter); required for merged' },
    out: { type: 'string', meta: 'PATH', required: true, help: 'folder (merged) or .gguf file (gguf) to write' },
    // f32 by default so W + BA is computed and stored without rounding.
    dtype: { type: 'string', choices: ['f32', 'bf16'], help: 'merged: precision of the merged weights (default f32)' },
    'max-shard-mb': { type: 'number', help: 'merged: split model.safetensors into shards of at most this many MB' },
    // f16 is convert_hf_to_gguf.py's default; 1-D tensors (norms) are always F32
    'gguf-type': { type: 'string', choices: [...GGUF_WRITE_TYPES], help: 'gguf: type of the 2-D weights (default f16)' },
    backend: {
      type: 'string',
      choices: ['native', 'reference', 'webgpu'],
      help: 'compute backend (default: native when built; env COLA_BACKEND; webgpu: docs/WEBGPU.md)',
    },
    ...maxMemoryOption,
  },
  run(v, pos) {
    const kind = pos[0];
    if (kind !== 'merged' && kind !== 'gguf') {
      throw new ColaError(
        `${kind ? `unknown export kind "${kind}"` : 'say what to export'}; supported: merged, gguf (usage: ${USAGE_MERGED} | ${USAGE_GGUF})`,
      );
    }
    const usage = kind === 'merged' ? USAGE_MERGED : USAGE_GGUF;
    if (pos.length > 1) throw new ColaError(`unexpected argument "${pos[1]}" (usage: ${usage})`);
    const unused = (kind === 'merged' ? ['gguf-type'] : ['dtype', 'max-shard-mb']).filter((k) => v[k] !== undefined);
    if (unused.length)
      throw new ColaError(
        `${unused.map((k) => `--${k}`).join(', ')} ${unused.length > 1 ? 'do' : 'does'} not apply to export ${kind} (usage: ${usage})`,
      );
    const dir = v['model'] as string;
    if (!fs.existsSync(dir)) throw new ColaError(`--model ${dir}: not found`);
    return kind === 'merged' ? exportMerged(v, dir) : exportGguf(v, dir);
  },
};

function loadMerged(v: OptionValues, dir: string, dtype: 'f32' | 'bf16'): CausalLM {
  const model = loadModel(dir, { backend: getBackend(v['backend'] as BackendName | undefined), dtype, maxMemory: maxMemoryOf(v) });
  const adapter = v['adapter'] as string | undefined;
  if (adapter !== undefined) {
    loadPeftAdapter(model, adapter);
    mergeAndUnload(model);
  }
  return model;
}

function exportMerged(v: OptionValues, dir: string): number {
  const out = v['out'] as string;
  const shardMb = v['max-shard-mb'] as number | undefined;
  if (v['adapter'] === undefined) throw new ColaError(`--adapter is required for export merged (usage: ${USAGE_MERGED})`);
  if (shardMb !== undefined && shardMb <= 0) throw new ColaError(`--max-shard-mb must be > 0, got ${shardMb}`);
  if (path.resolve(out) === path.resolve(dir)) throw new ColaError('--out must differ from --model (the base model would be overwritten)');
  checkOutputDir(out, '--out', { allowRun: false });
  const model = loadMerged(v, dir, (v['dtype'] as 'f32' | 'bf16' | undefined) ?? 'f32');
  saveModelFolder(model, out, { maxShardBytes: shardMb !== undefined ? Math.floor(shardMb * 1024 * 1024) : undefined });
  const copied = isGgufFile(dir) ? [] : TOKENIZER_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
  for (const f of copied) copyAtomic(path.join(dir, f), path.join(out, f));
  process.stderr.write(
    `cola export: wrote the merged model (${model.weightDtype}) to ${out}${copied.length ? ` with ${copied.join(', ')}` : ' (no tokenizer files copied: the base is not a folder holding them)'}\n`,
  );
  return 0;
}

function exportGguf(v: OptionValues, dir: string): number {
  const out = v['out'] as string;
  const type = ((v['gguf-type'] as string | undefined) ?? 'f16') as GgufWriteType;
  if (!out.toLowerCase().endsWith('.gguf')) throw new ColaError(`--out ${out}: a GGUF file name must end in .gguf`);
  if (fs.existsSync(out) && fs.statSync(out).isDirectory()) throw new ColaError(`--out ${out}: is a folder; give a .gguf file name`);
  if (path.resolve(out) === path.resolve(dir)) throw new ColaError('--out must differ from --model (the base model would be overwritten)');
  const tokenizer = tokenizerMetadataFor(dir); // checked before the weights are loaded
  // merged in f32: W + BA without rounding, then encoded once as the GGUF type
  const model = loadMerged(v, dir, 'f32');
  const r = saveModelGguf(model, { file: out, type, tokenizer, name: path.basename(out, '.gguf') });
  const fallback = r.fallbacks.length
    ? `; ${r.fallbacks.length} tensor(s) with rows not a multiple of 32 written as F16, as llama.cpp's converter does (${r.fallbacks.slice(0, 3).join(', ')}${r.fallbacks.length > 3 ? ', ...' : ''})`
    : '';
  process.stderr.write(
    `cola export: wrote ${out} (${type}, ${r.types.size} tensors${v['adapter'] ? ', adapter merged' : ''})${fallback}\n`,
  );
  return 0;
}

/** Copy to a temp name beside the target, then rename: a reader never sees half a file. */
function copyAtomic(src: string, dst: string): void {
  const tmp = `${dst}.tmp-${process.pid}`;
  fs.copyFileSync(src, tmp);
  fs.renameSync(tmp, dst);
}
