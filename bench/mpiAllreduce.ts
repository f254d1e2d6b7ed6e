// The all-reduce of a data-parallel step (issue 19), alone: the f32 sum of the LoRA
// gradients that `cola train` under mpirun does once per optimizer step
// (src/train/distributed.ts allreduceGradients), at the sizes of the OPT-125m and
// OPT-1.3B shapes with LoRA r=8 on q_proj,v_proj (what `cola bench train-step` trains:
// its params_lora), plus the per-micro-batch 4-number f64 reduction. A barrier precedes
// each timed call so the time is the collective's own, not the wait for a slower rank.
//
// Two modes, alternating call by call so the machine's load hits both alike:
//   blocking  Open MPI's MPI_Allreduce (--rank-timeout 0)
//   watched   what `cola train` does by default: MPI_Iallreduce completed by the
//             watchdog's MPI_Test loop with a deadline (native/mpi.cc)
//
//   npx tsc -p tsconfig.json
//   mpirun --allow-run-as-root -np 2 node dist/bench/mpiAllreduce.js [--repeats 30] [--cases small,opt-125m,opt-1.3b]
//   mpirun --allow-run-as-root -np 2 --mca btl tcp,self node dist/bench/mpiAllreduce.js   # over TCP (loopback)
// One JSON line per case and mode on rank 0's stdout.

import { DEFAULT_RANK_TIMEOUT_S, mpiWorld } from '../src/backend/mpi.js';
import { PRESETS } from '../src/bench/trainStep.js';

/** LoRA factors of rank r on q_proj and v_proj of every layer: 2 targets x (A [r, d] + B [d, r]). */
function loraParams(d: number, layers: number, r = 8): number {
  return layers * 2 * (r * d + d * r);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function argOf(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1]! : fallback;
}

const comm = mpiWorld();
const repeats = Number(argOf('--repeats', '30'));
const wanted = argOf('--cases', 'small,opt-125m,opt-1.3b').split(',');
const cases: [string, string, number][] = [
  ['small', 'batch totals (f64 x 4)', 0],
  ['opt-125m', 'opt-125m LoRA grads', loraParams(PRESETS['opt-125m']!.d, PRESETS['opt-125m']!.layers)],
  ['opt-1.3b', 'opt-1.3b LoRA grads', loraParams(PRESETS['opt-1.3b']!.d, PRESETS['opt-1.3b']!.layers)],
];
const modes = [
  ['blocking', 0],
  ['watched', DEFAULT_RANK_TIMEOUT_S],
] as const;
for (const [key, name, n] of cases) {
  if (!wanted.includes(key)) continue;
  const f32 = new Float32Array(n);
  const f64 = new Float64Array(4);
  const run = (): void => (n === 0 ? comm.allreduceF64(f64) : comm.allreduceF32(f32));
  const ms: Record<string, number[]> = { blocking: [], watched: [] };
  for (const [, timeout] of modes) {
    comm.setTimeout(timeout);
    for (let i = 0; i < 3; i++) run();
  }
  for (let i = 0; i < repeats; i++)
    for (const [mode, timeout] of modes) {
      comm.setTimeout(timeout);
      comm.barrier();
      const t0 = performance.now();
      run();
      ms[mode]!.push(performance.now() - t0);
    }
  const bytes = n === 0 ? 32 : 4 * n;
  if (comm.rank === 0)
    for (const [mode] of modes)
      console.log(
        JSON.stringify({
          case: name,
          mode,
          ranks: comm.size,
          elements: n || 4,
          bytes,
          median_ms: +median(ms[mode]!).toFixed(4),
          min_ms: +Math.min(...ms[mode]!).toFixed(4),
          repeats,
        }),
      );
}
comm.setTimeout(0);
comm.finalize();
