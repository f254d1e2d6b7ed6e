// --profile labels a matmul by what was computed: a bf16 weight multiplied in f32 (on a CPU
// without bf16 hardware, or with --compute f32) is not a "bf16" product.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend, MatmulArgs } from '../../src/backend/backend.js';
import { hasNativeBf16 } from '../../src/backend/computePath.js';
import { getBackend } from '../../src/backend/index.js';
import { detectMachine, type Bf16Products } from '../../src/backend/machine.js';
import { f32ToBf16Bits, referenceBackend } from '../../src/backend/reference/index.js';
import { matmulPath, profileBackend } from '../../src/bench/profileBackend.js';
import { matmulArgs } from '../helpers/matmulArgs.js';

const [m, k, n] = [2, 3, 4];

/** A [m, k] f32 A times a [k, n] B stored as `bDtype`. */
function product(bDtype: 'f32' | 'bf16', compute?: 'f32' | 'bf16'): MatmulArgs {
  const values = Array.from({ length: k * n }, (_, i) => 0.1 * i);
  return matmulArgs({
    a: Float32Array.from({ length: m * k }, (_, i) => i),
    b: bDtype === 'f32' ? Float32Array.from(values) : Uint16Array.from(values, f32ToBf16Bits),
    c: new Float32Array(m * n),
    m,
    n,
    k,
    bDtype,
    ...(compute ? { compute } : {}),
  });
}

test('the label says what each compute path computed', () => {
  const f32 = { aDtype: 'f32', bDtype: 'f32' } as const;
  const widened = { aDtype: 'f32', bDtype: 'bf16', compute: 'f32' } as const;
  const bf16 = { aDtype: 'bf16', bDtype: 'f32', compute: 'bf16' } as const;
  const paths: (Bf16Products | null)[] = ['hardware', 'onednn-emulated', 'f32-on-rounded', null];
  for (const p of paths) {
    assert.equal(matmulPath(f32, p), 'f32');
    assert.equal(matmulPath({ ...f32, compute: 'bf16' }, p), 'f32'); // no bf16 operand: compute has no effect
    assert.equal(matmulPath(widened, p), 'bf16 widened->f32');
  }
  assert.deepEqual(
    paths.map((p) => matmulPath(bf16, p)),
    ['bf16', 'bf16 emulated', 'bf16-rounded->f32', 'bf16'],
  );
});

test('the reference backend: bf16 products are f32 products of rounded operands', () => {
  const prof = profileBackend(referenceBackend, { bf16Products: 'f32-on-rounded' });
  prof.backend.matmul(product('f32'));
  prof.backend.matmul(product('bf16', 'f32'));
  prof.backend.matmul(product('bf16', 'bf16'));
  assert.deepEqual(
    prof
      .rows()
      .map((r) => r.name)
      .sort(),
    ['matmul bf16 widened->f32 NN 2x3x4', 'matmul bf16-rounded->f32 NN 2x3x4', 'matmul f32 NN 2x3x4'],
  );
});

test('the native backend says "bf16" only on bf16 hardware', (t) => {
  let native: Backend;
  try {
    native = getBackend('native');
  } catch {
    return t.skip('the native addon is not built (npm run build:native)');
  }
  const machine = detectMachine();
  const prof = profileBackend(native, { bf16Products: machine.bf16Products });
  prof.backend.matmul(product('bf16', 'bf16'));
  const [row] = prof.rows();
  assert.equal(row!.name.startsWith('matmul bf16 NN'), hasNativeBf16(machine.caps) && machine.bf16Products === 'hardware', row!.name);
});
