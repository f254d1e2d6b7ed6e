/** Writing safetensors: one file, or shards plus `model.safetensors.index.json` as
 * transformers' save_pretrained does. Every file is written to a temp file and renamed. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';
import { assertLittleEndianHost, writeAll, writeFileAtomic, writeJsonAtomic } from './fileIo.js';
import { DTYPE_BYTES, type SafetensorsDtype } from './safetensorsHeader.js';
import { INDEX_FILE } from './safetensors.js';

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Little-endian element bytes, e.g. a Float32Array for F32 or Uint16Array bits for BF16. */
  data: ArrayBufferView;
}

/** Write `tensors` (in the given order) to `file` atomically. The default metadata
 * `{format: 'pt'}` is what transformers' from_pretrained checks for. */
export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): void {
  assertLittleEndianHost();
  const header = buildHeader(file, tensors, metadata);
  writeFileAtomic(file, (fd) => {
    writeAll(fd, header);
    for (const t of tensors) writeAll(fd, t.data);
  });
}

/** u64 length + JSON padded with spaces to a multiple of 8, so the data buffer (and
 * every tensor whose size is a multiple of its alignment) starts aligned. */
function buildHeader(file: string, tensors: TensorToWrite[], metadata?: Record<string, string>): Buffer {
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    checkTensor(file, t, json);
    json[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let text = JSON.stringify(json);
  const unpadded = Buffer.byteLength(text, 'utf8');
  text += ' '.repeat((8 - (unpadded % 8)) % 8);
  const body = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(8 + body.length);
  out.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(out, 8);
  return out;
}

function checkTensor(file: string, t: TensorToWrite, seen: Record<string, unknown>): void {
  if (t.name === '__metadata__' || Object.prototype.hasOwnProperty.call(seen, t.name)) {
    throw new ColaError(`${file}: tensor name "${t.name}" is reserved or duplicated`);
  }
  if (!Object.prototype.hasOwnProperty.call(DTYPE_BYTES, t.dtype)) {
    throw new ColaError(`${file}: tensor "${t.name}" has unknown dtype ${String(t.dtype)}`);
  }
  const expected = t.shape.reduce((a, d) => a * d, DTYPE_BYTES[t.dtype]);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || expected !== t.data.byteLength) {
    throw new ColaError(
      `${file}: tensor "${t.name}" shape [${t.shape.join(', ')}] of ${t.dtype} needs ${expected} bytes but its data has ${t.data.byteLength}`,
    );
  }
}

const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Split `tensors` into shards of at most `maxShardBytes` of data each (a larger tensor gets
 * a shard of its own), write `model-0000i-of-0000N.safetensors` and then the index. Shards
 * left from an earlier save with another N are removed after the new index is in place.
 * Returns the shard file names. */
export function writeShardedSafetensors(
  dir: string,
  tensors: TensorToWrite[],
  maxShardBytes: number,
  metadata?: Record<string, string>,
): string[] {
  if (!(maxShardBytes > 0)) throw new ColaError(`${dir}: maxShardBytes must be positive, got ${maxShardBytes}`);
  fs.mkdirSync(dir, { recursive: true });
  const groups = groupIntoShards(tensors, maxShardBytes);
  const n = String(groups.length).padStart(5, '0');
  const names = groups.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${n}.safetensors`);
  const weightMap: Record<string, string> = {};
  groups.forEach((group, i) => {
    writeSafetensors(path.join(dir, names[i]), group, metadata);
    for (const t of group) weightMap[t.name] = names[i];
  });
  const totalSize = tensors.reduce((a, t) => a + t.data.byteLength, 0);
  writeJsonAtomic(path.join(dir, INDEX_FILE), { metadata: { total_size: totalSize }, weight_map: weightMap });
  for (const f of fs.readdirSync(dir)) {
    if (SHARD_NAME.test(f) && !names.includes(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  return names;
}

function groupIntoShards(tensors: TensorToWrite[], maxShardBytes: number): TensorToWrite[][] {
  const groups: TensorToWrite[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const current = groups[groups.length - 1];
    if (current.length > 0 && size + t.data.byteLength > maxShardBytes) {
      groups.push([t]);
      size = t.data.byteLength;
    } else {
      current.push(t);
      size += t.data.byteLength;
    }
  }
  return groups;
}
