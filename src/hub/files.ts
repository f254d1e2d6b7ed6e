/** Which files of a Hub model repo make a folder cola loads: the config, the tokenizer
 * files, and the safetensors weights the loader reads (model.safetensors, or the index
 * and exactly the shards its weight_map names). Other weight formats (.bin, .pt, .h5,
 * .msgpack, onnx/, consolidated.safetensors beside shards) are never downloaded. */
import { ColaError } from '../errors.js';
import { INDEX_FILE, SINGLE_FILE } from '../io/safetensors.js';

/** Small files, downloaded if the repo has them; config.json is required. */
export const METADATA_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'config.json',
];

/** The weight file(s) to fetch first: the index (whose shards come next) or the single file. */
export function weightEntry(repo: string, files: ReadonlySet<string>): string {
  if (files.has(INDEX_FILE)) return INDEX_FILE;
  if (files.has(SINGLE_FILE)) return SINGLE_FILE;
  const other = [...files].filter((f) => /\.(bin|pt|pth|h5|msgpack|onnx|gguf|safetensors)$/.test(f));
  throw new ColaError(
    `${repo} has no ${SINGLE_FILE} or ${INDEX_FILE}` +
      (other.length ? ` (it has ${other.slice(0, 4).join(', ')}${other.length > 4 ? ', ...' : ''})` : '') +
      '; cola loads Hugging Face safetensors weights only: pick a repo (or --revision) that has them',
  );
}

/** The shard names of a sharded index's weight_map, each checked to be in the repo. */
export function shardsOf(repo: string, index: unknown, files: ReadonlySet<string>): string[] {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null) throw new ColaError(`${repo}: ${INDEX_FILE} has no weight_map object`);
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  const bad = shards.filter((s) => typeof s !== 'string' || s.includes('/') || !s.endsWith('.safetensors') || !files.has(s));
  if (bad.length)
    throw new ColaError(`${repo}: ${INDEX_FILE} names shards the repo does not hold as root .safetensors files: ${bad.join(', ')}`);
  return shards as string[];
}

/** config.json is required: without it the folder is not a model. */
export function checkConfig(repo: string, files: ReadonlySet<string>): void {
  if (!files.has('config.json'))
    throw new ColaError(`${repo} has no config.json at its root; it is not a transformers model repo cola can load`);
}
