// A checkpoint save that fails half-way (a full disk) leaves the previous checkpoint whole
// and loadable, removes its half-built checkpoint.tmp/, and is a user error (ColaError).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint, type Checkpoint } from '../../src/train/checkpoint.js';
import { makeTmpDir } from '../io/tmpdir.js';

const dir = makeTmpDir('checkpoint');
const ckpt = (step: number): Checkpoint => ({ state: { step }, arrays: new Map([['w', Float32Array.from([step, step + 1])]]) });

/** Run `fn` with every fs.writeSync failing as on a full disk. */
function withFullDisk(fn: () => void): void {
  const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
  const write = cjsFs.writeSync;
  cjsFs.writeSync = (() => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  }) as typeof fs.writeSync;
  syncBuiltinESMExports();
  try {
    fn();
  } finally {
    cjsFs.writeSync = write;
    syncBuiltinESMExports();
  }
}

test('save and load round-trip; hasCheckpoint sees it', () => {
  assert.equal(hasCheckpoint(dir), false);
  saveCheckpoint(dir, ckpt(3));
  assert.equal(hasCheckpoint(dir), true);
  const back = loadCheckpoint(dir)!;
  assert.deepEqual(back.state, { step: 3 });
  assert.deepEqual([...back.arrays.get('w')!], [3, 4]);
});

test('a full disk during a save: ColaError naming the folder, the previous checkpoint intact, no checkpoint.tmp', () => {
  saveCheckpoint(dir, ckpt(5));
  assert.throws(
    () => withFullDisk(() => saveCheckpoint(dir, ckpt(9))),
    (e) => e instanceof ColaError && /checkpoint\.tmp.*disk is full \(ENOSPC\).*last checkpoint/.test(e.message),
  );
  assert.ok(!fs.existsSync(path.join(dir, 'checkpoint.tmp')));
  const back = loadCheckpoint(dir)!;
  assert.deepEqual(back.state, { step: 5 });
  assert.deepEqual([...back.arrays.get('w')!], [5, 6]);
});
