// Signals during native products (native/signals.h): oneDNN's f32 GEMM kernels move
// rsp onto a heap workspace (oneDNN issue #4845), so a signal handled inside one
// corrupted the heap. `node --cpu-prof` (SIGPROF on the main thread) aborted every run
// of these products, and a process-directed signal can land on an OpenMP worker. The
// child processes must finish and print the product's checksum.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadNativeBackend } from '../../src/backend/native/index.js';

const nativeIndex = fileURLToPath(new URL('../../src/backend/native/index.js', import.meta.url));

/** 40 products of 512 x 512 x 512 in f32 (oneDNN's gemm:jit), each checked. */
const products = `
import { loadNativeBackend } from ${JSON.stringify(nativeIndex)};
const be = loadNativeBackend();
const n = 512;
process.on('SIGWINCH', () => {}); // a JavaScript handler: libuv installs a native one
const a = be.alloc('f32', n * n).fill(1), b = be.alloc('f32', n * n).fill(0.5);
for (let r = 0; r < 40; r++) {
  const c = be.empty('f32', n * n);
  be.matmul({ a, b, c, m: n, n, k: n, batch: 1, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, alpha: 1, beta: 0, aDtype: 'f32', bDtype: 'f32' });
  if (c.some((x) => x !== n / 2)) throw new Error('product ' + r + ' is wrong');
}
console.log('products ok');
`;

test('products survive the CPU profiler sampling the main thread', (t) => {
  if (!loadNativeBackend()) return t.skip('native addon not built (npm run build:native)');
  const dir = mkdtempSync(join(tmpdir(), 'cola-signals-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir, '--input-type=module', '-e', products],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 0, `exit ${r.status} (${r.signal}): ${r.stderr}`);
    assert.match(r.stdout, /products ok/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('products survive a storm of process-directed signals on two threads', async (t) => {
  if (!loadNativeBackend()) return t.skip('native addon not built (npm run build:native)');
  const child = spawn(process.execPath, ['--input-type=module', '-e', products], {
    env: { ...process.env, OMP_NUM_THREADS: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // SIGWINCH to the process (any thread not holding it may take it) until it exits
  const storm = setInterval(() => {
    try {
      process.kill(child.pid!, 'SIGWINCH');
    } catch {
      /* already gone */
    }
  }, 1);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearInterval(storm);
  assert.equal(code, 0, `exit ${code} (${signal}): ${err}`);
  assert.match(out, /products ok/);
});
