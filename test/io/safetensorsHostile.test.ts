/** Crafted safetensors headers: duplicate names are refused, and sizes are compared with
 * the memory available before anything is allocated (files here are sparse: they
 * declare hundreds of GB but take no disk). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getBackend } from '../../src/backend/index.js';
import { ColaError } from '../../src/errors.js';
import { firstDuplicateKey, readSafetensorsHeader } from '../../src/io/safetensorsHeader.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { writeSafetensors } from '../../src/io/safetensorsWriter.js';
import { checkpointSummary, loadModel } from '../../src/models/load.js';
import { tinyModelFolder } from '../helpers/tinyFolder.js';
import { sparseSafetensors } from './sparseSafetensors.js';
import { makeTmpDir } from './tmpdir.js';

const dir = makeTmpDir('safetensors-hostile');

test('a tensor name given twice in the header is refused, naming it', () => {
  const file = path.join(dir, 'dup.safetensors');
  const entry = (a: number) => `{"dtype":"F32","shape":[1],"data_offsets":[${a},${a + 4}]}`;
  sparseSafetensors(file, [], `{"w":${entry(0)},"x":${entry(4)},"w":${entry(8)}}`);
  fs.truncateSync(file, fs.statSync(file).size + 12);
  assert.throws(
    () => readSafetensorsHeader(file),
    (e: unknown) => e instanceof ColaError && e.message.includes(file) && e.message.includes('names "w" twice'),
  );
  assert.equal(firstDuplicateKey('{"a":{"k":1,"k":2}}'), 'k');
  assert.equal(firstDuplicateKey('{"a":["a","a"],"b":{"a":"}\\"a"},"c":1}'), null);
  assert.equal(firstDuplicateKey('{"\\u0061":1,"a":2}'), 'a');
});

test('a header nested 100000 deep is refused without overflowing the stack', () => {
  const file = path.join(dir, 'deep.safetensors');
  sparseSafetensors(file, [], `{"w":{"dtype":"F32","shape":${'['.repeat(100_000)}${']'.repeat(100_000)},"data_offsets":[0,4]}}`);
  assert.throws(
    () => readSafetensorsHeader(file),
    (e: unknown) => e instanceof ColaError && e.message.includes(file) && /nested more than 16 levels/.test(e.message),
  );
});

test('a 1 TB tensor is refused before allocation with how much it needs', () => {
  const file = path.join(dir, 'huge.safetensors');
  sparseSafetensors(file, [['w', 'F32', [1 << 20, 1 << 18]]]);
  const st = openSafetensors(file); // headers only: fine
  assert.deepEqual(st.tensors.get('w')!.shape, [1 << 20, 1 << 18]);
  for (const read of [() => st.read('w'), () => st.readRaw('w'), () => st.read('w', 'bf16')]) {
    assert.throws(read, (e: unknown) => e instanceof ColaError && /reading tensor "w".* needs 2048\.0 GiB of memory/.test(e.message));
  }
  const small = path.join(dir, 'small.safetensors');
  writeSafetensors(small, [{ name: 'v', dtype: 'F32', shape: [1024], data: new Float32Array(1024) }]);
  assert.throws(
    () => openSafetensors(small, { maxMemory: 1000 }).read('v'),
    (e: unknown) => e instanceof ColaError && /--max-memory limit \(1000 bytes\)/.test(e.message),
  );
  assert.equal(openSafetensors(small, { maxMemory: 1 << 20 }).read('v').length, 1024);
});

test('loadModel compares the whole checkpoint with maxMemory before allocating any tensor', () => {
  const model = tinyModelFolder();
  const backend = getBackend('reference');
  assert.throws(
    () => loadModel(model, { backend, maxMemory: 10_000 }),
    (e: unknown) => e instanceof ColaError && /loading \d+ tensors as f32 needs .* --max-memory limit/.test(e.message),
  );
  assert.ok(loadModel(model, { backend, maxMemory: 1 << 30 }));
  // a 70B-shaped sparse checkpoint: refused from the header, RSS stays put
  const big = path.join(dir, 'big70b');
  fs.cpSync(model, big, { recursive: true });
  fs.rmSync(path.join(big, 'model.safetensors'));
  const entries: [string, 'BF16', number[]][] = [['model.embed_tokens.weight', 'BF16', [128256, 8192]]];
  for (let l = 0; l < 80; l++) {
    for (const [p, shape] of [
      ['self_attn.q_proj', [8192, 8192]],
      ['self_attn.k_proj', [1024, 8192]],
      ['self_attn.v_proj', [1024, 8192]],
      ['self_attn.o_proj', [8192, 8192]],
      ['mlp.gate_proj', [28672, 8192]],
      ['mlp.up_proj', [28672, 8192]],
      ['mlp.down_proj', [8192, 28672]],
    ] as const)
      entries.push([`model.layers.${l}.${p}.weight`, 'BF16', [...shape]]);
  }
  sparseSafetensors(path.join(big, 'model.safetensors'), entries);
  const rss = process.memoryUsage().rss;
  assert.throws(
    () => loadModel(big, { backend, maxMemory: 64 * 2 ** 30 }),
    (e: unknown) => e instanceof ColaError && /needs 1[23]\d\.\d GiB of memory/.test(e.message),
  );
  assert.ok(process.memoryUsage().rss - rss < 256 << 20);
});

test('checkpointSummary describes a 1 TB checkpoint from its headers without allocating', () => {
  const d = path.join(dir, 'summary');
  fs.cpSync(tinyModelFolder(), d, { recursive: true });
  sparseSafetensors(path.join(d, 'model.safetensors'), [['model.embed_tokens.weight', 'F32', [1 << 20, 1 << 18]]]);
  const rss = process.memoryUsage().rss;
  const s = checkpointSummary(d);
  assert.deepEqual([s.modelType, s.tensors, s.parameters, s.dtypes, s.loadedBytes.bf16], ['llama', 1, 2 ** 38, ['F32'], 2 ** 39]);
  assert.ok(process.memoryUsage().rss - rss < 64 << 20);
});
