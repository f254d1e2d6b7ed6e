// The webgpu backend from Node: the clear error without an adapter, its sources stay
// free of Node built-ins (they are bundled for the browser), and the parts that need
// no GPU: the f16 storage choice, f16 packing, the quantized weights' route (WGSL or
// the CPU fallback). The backend itself runs the conformance suite in Node
// (webgpuNodeConformance.test.ts) and in Chromium (test/browser/webgpuConformance.test.ts).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getBackend } from '../../src/backend/index.js';
import { quantize } from '../../src/backend/quant/codec.js';
import { QUANT_FORMATS } from '../../src/backend/quant/format.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { GpuRunner } from '../../src/backend/webgpu/device.js';
import { MATMUL_F16_B } from '../../src/backend/webgpu/kernels/matmul.js';
import { decodesInWgsl } from '../../src/backend/webgpu/kernels/quantMatmul.js';
import { codeWords } from '../../src/backend/webgpu/resident.js';
import { halfWords, resolveWeightStorage, SHADER_F16 } from '../../src/backend/webgpu/weightStorage.js';
import { floatToHalf } from '../../src/io/floatBits.js';
import { ColaError } from '../../src/errors.js';
import { webgpuPackageMissing } from '../../src/backend/webgpuNode/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const noPackage = webgpuPackageMissing();

test('with no adapter, --backend webgpu says so and how to get one (no stack trace)', { skip: noPackage ?? false }, () => {
  // a driver the user named that does not exist: cola does not swap in SwiftShader behind their back
  const r = spawnSync(process.execPath, [path.join(root, 'bin/cola.js'), 'doctor', '--backend', 'webgpu', '--seconds', '0'], {
    encoding: 'utf8',
    env: { ...process.env, COLA_BACKEND: '', VK_ICD_FILENAMES: path.join(root, 'no-such-icd.json') },
    timeout: 60_000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /the webgpu backend found no WebGPU adapter/);
  assert.match(r.stderr, /VK_ICD_FILENAMES=\/usr\/lib\/chromium\/vk_swiftshader_icd\.json/);
  assert.match(r.stderr, /apt-get install libvulkan1 chromium/);
  assert.doesNotMatch(r.stderr, /\n\s+at .*\.js:\d+/, 'no stack trace');
});

test('COLA_BACKEND=webgpu is accepted; another value names the three', () => {
  const saved = process.env['COLA_BACKEND'];
  process.env['COLA_BACKEND'] = 'gpu';
  try {
    assert.throws(
      () => getBackend(),
      (err: unknown) => err instanceof ColaError && /"native", "reference" or "webgpu", got "gpu"/.test(err.message),
    );
  } finally {
    if (saved === undefined) delete process.env['COLA_BACKEND'];
    else process.env['COLA_BACKEND'] = saved;
  }
});

test('the webgpu backend imports no Node built-ins (it is bundled for browsers)', () => {
  const dir = path.join(root, 'src/backend/webgpu');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 5, `sources found under ${dir}`);
  for (const f of files) {
    const text = readFileSync(path.join(dir, f), 'utf8');
    assert.doesNotMatch(text, /from '(node:|fs|path|os|child_process)/, `${f} imports a Node built-in`);
    assert.doesNotMatch(text, /\bprocess\./, `${f} reads process`);
  }
});

test('f16 storage of kept weights: shader-f16 detection, the auto fallback, the refusal', () => {
  const none = ['timestamp-query', 'subgroups'];
  assert.deepEqual(resolveWeightStorage(undefined, none, 'google swiftshader'), { storage: 'f32', note: null });
  assert.deepEqual(resolveWeightStorage('f32', [...none, SHADER_F16], 'gpu'), { storage: 'f32', note: null });
  assert.deepEqual(resolveWeightStorage('auto', [...none, SHADER_F16], 'gpu'), { storage: 'f16', note: null });
  assert.deepEqual(resolveWeightStorage('f16', [SHADER_F16], 'gpu'), { storage: 'f16', note: null });
  const auto = resolveWeightStorage('auto', none, 'google swiftshader');
  assert.equal(auto.storage, 'f32');
  assert.match(auto.note!, /google swiftshader lacks shader-f16/);
  assert.throws(
    () => resolveWeightStorage('f16', none, 'google swiftshader'),
    /'f16' needs the adapter feature shader-f16, which google swiftshader lacks/,
  );
  assert.throws(() => resolveWeightStorage('bf16' as never, none, 'x'), /expected one of f32, f16, auto/);
});

test('f16 words: two halves a u32 word, rounded to nearest even, from f32 and bf16 alike', () => {
  const values = Float32Array.from([1, -2.5, 65504, 70000, 1e-8, 6e-8, 0.1, -0, NaN, 1 + 2 ** -11]);
  const words = halfWords(values);
  assert.equal(words.length, 5);
  const halves = new Uint16Array(words.buffer);
  values.forEach((v, i) => assert.equal(halves[i], floatToHalf(v), `element ${i} (${v})`));
  assert.equal(halves[9], floatToHalf(1), 'a tie rounds to even');
  const bf16 = new Uint16Array(values.length);
  referenceBackend.castToBf16(values, bf16);
  const fromBf16 = new Uint16Array(halfWords(bf16).buffer);
  bf16.forEach((b, i) => assert.equal(fromBf16[i], floatToHalf(new Float32Array(new Uint32Array([b << 16]).buffer)[0]!), `bf16 ${i}`));
});

test('quantized weights: the WGSL decoder takes the known formats and no other variant; codes travel as words', () => {
  for (const format of QUANT_FORMATS) assert.ok(decodesInWgsl(quantize(new Float32Array(64), 1, 64, format)), format);
  const w = quantize(new Float32Array(64), 1, 64, 'nf4');
  // a later variant (e.g. quantized absmax) adds a field or a format: the CPU path, never a misread weight
  assert.equal(decodesInWgsl({ ...w, absmaxScale: 1 } as never), false);
  assert.equal(decodesInWgsl({ ...w, format: 'nf4_dq' } as never), false);
  const bytes = Uint8Array.from([1, 2, 3, 4, 5, 0xff]);
  const words = codeWords(bytes);
  assert.deepEqual([...new Uint32Array(words.buffer)], [0x04030201, 0x0000ff05]);
});

test('the f16-B matmul module: enable f16 first, B bound as array<f16>, every B load widened to f32', () => {
  // no adapter here offers shader-f16 (the Chromium case skips): check the module text the device would compile
  let code = '';
  const device = {
    createShaderModule: (d: { code: string }) => ((code = d.code), {}),
    createComputePipeline: () => ({}),
    createBindGroupLayout: () => ({}),
    createPipelineLayout: () => ({}),
  };
  new GpuRunner(device as never).pipeline(MATMUL_F16_B);
  assert.ok(code.startsWith('enable f16;\n'), code.slice(0, 40));
  assert.match(code, /@binding\(2\) var<storage, read_write> B: array<f16>;/);
  assert.equal(code.match(/f32\(B\[/g)?.length, 2);
  assert.doesNotMatch(code, /return B\[/);
});
