// The all-reduce of a data-parallel step (issue 19), alone: the f32 sum of the LoRA
// gradients that `cola train` under mpirun does once per optimizer step
// (src/train/distributed.ts allreduceGradients), at the sizes of the OPT-125m and
// OPT-1.3B shapes with LoRA r=8 on q_proj,v_proj (what `cola bench train-step` trains:
// its params_lora), plus the per-micro-batch 4-number f64 reduction. A barrier precedes
// each timed call so the time is the collective's own, not the wait for a slower rank.
//
//   npx tsc -p tsconfig.json
//   mpirun --allow-run-as-root -np 2 node dist/bench/mpiAllreduce.js [--repeats 30]
//   mpirun --allow-run-as-root -np 2 --mca btl tcp,self node dist/bench/mpiAllreduce.js   # over TCP (loopback)

import { mpiWorld } from '../src/backend/mpi.js';
import { PRESETS } from '../src/bench/trainStep.js';

/** LoRA factors of rank r on q_proj and v_proj of every layer: 2 targets x (A [r, d] + B [d, r]). */
function loraParams(d: number, layers: number, r = 8): number {
  return layers * 2 * (r * d + d * r);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const comm = mpiWorld();
const repeatsAt = process.argv.indexOf('--repeats');
const repeats = repeatsAt > 0 ? Number(process.argv[repeatsAt + 1]) : 30;
const cases: [string, number][] = [
  ['batch totals (f64 x 4)', 0],
  ['opt-125m LoRA grads', loraParams(PRESETS['opt-125m']!.d, PRESETS['opt-125m']!.layers)],
  ['opt-1.3b LoRA grads', loraParams(PRESETS['opt-1.3b']!.d, PRESETS['opt-1.3b']!.layers)],
];
for (const [name, n] of cases) {
  const f32 = new Float32Array(n);
  const f64 = new Float64Array(4);
  const run = (): void => (n === 0 ? comm.allreduceF64(f64) : comm.allreduceF32(f32));
  for (let i = 0; i < 3; i++) run();
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    comm.barrier();
    const t0 = performance.now();
    run();
    ms.push(performance.now() - t0);
  }
  const bytes = n === 0 ? 32 : 4 * n;
  if (comm.rank === 0)
    console.log(
      JSON.stringify({
        case: name,
        ranks: comm.size,
        elements: n || 4,
        bytes,
        median_ms: +median(ms).toFixed(4),
        min_ms: +Math.min(...ms).toFixed(4),
        repeats,
      }),
    );
}
comm.finalize();
