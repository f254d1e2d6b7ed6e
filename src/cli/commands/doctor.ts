// `cola doctor`: what this machine offers and what cola will do with it (issue 15):
// CPU features, oneDNN's ISA, the cores this process may use, memory, the compute
// path of each weight dtype, a few-second matmul probe in f32 and bf16, and the
// WebGPU adapter the webgpu backend would get in Node (issue 20; under a second).
import type { Backend, FloatArray } from '../../backend/backend.js';
import {
  cpuClass,
  hasNativeBf16,
  type ComputeDtype,
  type ComputeRequest,
  type StorageDtype,
  type WidenedProductKernel,
} from '../../backend/computePath.js';
import { getBackend, type BackendName } from '../../backend/index.js';
import { detectMachine, type Bf16Products } from '../../backend/machine.js';
import { nativeCpuInfo } from '../../backend/native/index.js';
import { webgpuNodeStatus, type WebGpuStatus } from '../../backend/webgpuNode/index.js';
import { computeFor, configureRuntime, kernelThreads, requestedCompute } from '../../backend/runtime.js';
import type { Command } from '../command.js';

export interface ProbeResult {
  storage: StorageDtype;
  compute: ComputeDtype;
  /** [m, k, n] of the product: activations [m, k] (f32) times weights^T */
  shape: [number, number, number];
  gflops: number;
}

/** GFLOP/s of y = x W^T with W stored as `storage`, computed as `compute`, run for about `seconds`. */
function probe(be: Backend, storage: StorageDtype, compute: ComputeDtype, size: number, seconds: number): ProbeResult {
  const [m, k, n] = [size, size, size];
  const x = be.alloc('f32', m * k) as Float32Array;
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i) * 0.5;
  const w32 = be.alloc('f32', n * k) as Float32Array;
  for (let i = 0; i < w32.length; i++) w32[i] = Math.cos(i) * 0.5;
  let w: FloatArray = w32;
  if (storage === 'bf16') {
    w = be.alloc('bf16', n * k) as Uint16Array;
    be.castToBf16(w32, w);
  }
  const c = be.alloc('f32', m * n) as Float32Array;
  const args = { a: x, b: w, c, batch: 1, m, n, k, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0, alpha: 1, beta: 0 };
  const run = (): void => be.matmul({ ...args, aDtype: 'f32', bDtype: storage, compute });
  run(); // warm-up: primitive creation
  let reps = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000 || reps < 2) {
    run();
    reps++;
    elapsed = performance.now() - t0;
  }
  return { storage, compute, shape: [m, k, n], gflops: Math.round((2 * m * n * k * reps) / (elapsed / 1000) / 1e8) / 10 };
}

const BF16_PRODUCTS: Record<Bf16Products, string> = {
  hardware: 'on bf16 hardware',
  'onednn-emulated': 'emulated by oneDNN (no bf16 hardware: ~3x slower than f32)',
  'f32-on-rounded': 'computed in f32 on bf16-rounded operands (oneDNN has no bf16 matmul for this CPU)',
};

const WIDENED_PRODUCTS: Record<WidenedProductKernel, string> = {
  'cola-avx2': "cola's AVX2 kernel (the weight widened inside its packing)",
  onednn: 'oneDNN (the weight widened a panel at a time)',
};

function webgpuLine(s: WebGpuStatus): string {
  if (!s.available) return `webgpu (--backend webgpu): unavailable: ${s.reason}`;
  const how = s.software_fallback
    ? ' (software: no GPU adapter found, SwiftShader used automatically)'
    : s.vk_icd_filenames
      ? ` (VK_ICD_FILENAMES=${s.vk_icd_filenames})`
      : '';
  return `webgpu (--backend webgpu): ${s.adapter}${how}; shader-f16 ${s.features.includes('shader-f16') ? 'yes' : 'no'}`;
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'what this machine offers: CPU features, cores, memory, the compute path per dtype, a matmul probe',
  usage: 'cola doctor [--json] [--seconds S] [--compute auto|f32|bf16] [--threads N]',
  options: {
    json: { type: 'boolean', help: 'print one JSON object on stdout' },
    seconds: { type: 'number', default: 1, help: 'seconds of each matmul probe (0: one product each)' },
    backend: { type: 'string', choices: ['native', 'reference', 'webgpu'], help: 'compute backend (default: native when built)' },
    compute: { type: 'string', choices: ['auto', 'f32', 'bf16'], help: 'as for train: how bf16-stored weights are computed' },
    threads: { type: 'int', meta: 'N', help: 'kernel threads (default: OMP_NUM_THREADS, else the usable cores)' },
  },
  run(v) {
    configureRuntime({ compute: v['compute'] as ComputeRequest | undefined, threads: v['threads'] as number | undefined });
    const be = getBackend(v['backend'] as BackendName | undefined);
    const m = detectMachine();
    const seconds = v['seconds'] as number;
    // The reference backend is plain TypeScript: a small product keeps the probe short.
    const size = be.name === 'native' ? 1024 : be.name === 'webgpu' ? 256 : 48;
    const paths = { f32: computeFor('f32'), bf16: computeFor('bf16') };
    const probes = [
      probe(be, 'f32', 'f32', size, seconds),
      probe(be, 'bf16', 'bf16', size, seconds),
      probe(be, 'bf16', 'f32', size, seconds),
    ];
    const report = {
      cpu: {
        model: m.cpuModel,
        class: cpuClass(m.caps),
        native_bf16: hasNativeBf16(m.caps),
        flags: {
          avx2: m.caps.avx2,
          avx512f: m.caps.avx512f,
          avx512_vnni: m.caps.avx512Vnni,
          avx512_bf16: m.caps.avx512Bf16,
          amx_bf16: m.caps.amxBf16,
        },
        flags_source: m.capsSource,
        onednn_isa: m.onednnIsa,
        onednn_version: m.onednnVersion,
        // how a bf16 product runs here (null without the addon)
        bf16_products: m.bf16Products,
        // the kernel of an f32 product with a bf16 weight (null without the addon)
        widened_products: m.widenedProducts,
      },
      cores: { online: m.cores.online, affinity: m.cores.affinity, cgroup_quota: m.cores.cgroupQuota, usable: m.cores.usable },
      threads: kernelThreads(),
      // what OpenMP itself will use on this thread (null without the addon)
      omp_max_threads: nativeCpuInfo()?.ompMaxThreads ?? null,
      omp_wait_policy: process.env['OMP_WAIT_POLICY'] ?? null,
      gomp_spincount: process.env['GOMP_SPINCOUNT'] ?? null,
      memory: { total_bytes: m.memory.totalBytes, available_bytes: m.memory.availableBytes, cgroup_limit_bytes: m.memory.cgroupLimitBytes },
      backend: be.name,
      compute: { requested: requestedCompute(), f32_weights: paths.f32, bf16_weights: paths.bf16 },
      probe: probes,
      webgpu: webgpuNodeStatus(),
    };
    if (v['json']) {
      process.stdout.write(JSON.stringify(report) + '\n');
      return 0;
    }
    const gib = (b: number | null): string => (b === null ? 'none' : `${(b / 2 ** 30).toFixed(1)} GiB`);
    const flags = Object.entries(report.cpu.flags)
      .map(([f, on]) => `${f} ${on ? 'yes' : 'no'}`)
      .join(', ');
    const lines = [
      `cpu: ${m.cpuModel} (${report.cpu.class}); ${flags} (from ${m.capsSource})`,
      `oneDNN: ${m.onednnIsa ? `${m.onednnVersion}, effective ISA ${m.onednnIsa}` : 'addon not built'}; backend ${be.name}`,
      `cores: ${m.cores.usable} usable (${m.cores.affinity} allowed by affinity, ${m.cores.online} online, cgroup quota ${m.cores.cgroupQuota ?? 'none'})`,
      `threads: ${report.threads} (OpenMP: ${report.omp_max_threads ?? 'no addon'}); OMP_WAIT_POLICY=${report.omp_wait_policy ?? '(unset)'}${report.gomp_spincount ? `, GOMP_SPINCOUNT=${report.gomp_spincount}` : ''}`,
      `memory: ${gib(m.memory.totalBytes)} total, ${gib(m.memory.availableBytes)} available, cgroup limit ${gib(m.memory.cgroupLimitBytes)}`,
      `compute (--compute ${report.compute.requested}): f32 weights in ${paths.f32}, bf16 weights in ${paths.bf16}` +
        (m.bf16Products ? `; bf16 products ${BF16_PRODUCTS[m.bf16Products]}` : '') +
        (m.widenedProducts ? `; f32 products of bf16 weights on ${WIDENED_PRODUCTS[m.widenedProducts]}` : ''),
      ...probes.map((p) => `probe: ${p.shape.join('x')} ${p.storage} weights computed in ${p.compute}: ${p.gflops} GFLOP/s`),
      webgpuLine(report.webgpu),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
