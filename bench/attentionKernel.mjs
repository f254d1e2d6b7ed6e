// Issue 15, session 9: causal attention alone at the opt-125m shape (batch 8, 12 heads,
// 256 tokens, head size 64, [B, T, H, D] as the linear layers write it), forward and
// backward, as one step's 12 layers call it. Prints one JSON line: medians over rounds of
// CPU ms per layer. The kernel's tile products run on cola's serial AVX2 GEMM where it suits
// the CPU, on oneDNN's sgemm with COLA_GEMM=onednn: alternate the two in separate
// processes (bench/attention.sh).
// A second argument masks more: "packed" (rows packed from 32-token sequences, --pack's
// keyStart) or "window" (a 32-token sliding window, as Mistral / Gemma local layers).
// Run: npx tsc -p tsconfig.json && node bench/attentionKernel.mjs [rounds] [packed|window]
import { loadNativeBackend } from '../dist/src/backend/native/index.js';
const be = loadNativeBackend();
const rounds = Number(process.argv[2] ?? 7);
const [B, H, T, D] = [8, 12, 256, 64];
const random = (n) => {
  const f = be.alloc('f32', n);
  for (let i = 0; i < n; i++) f[i] = Math.random() - 0.5;
  return f;
};
const n = B * T * H * D;
const mask = process.argv[3] ?? 'causal';
const shape = { layout: 'bthd', batch: B, headsQ: H, headsKv: H, seqQ: T, seqKv: T, headDim: D, scale: 1 / 8, causal: true };
if (mask === 'packed') shape.keyStart = Int32Array.from({ length: B * T }, (_, i) => (i % T) - (i % 32));
else if (mask === 'window') shape.window = 32;
else if (mask !== 'causal') throw new Error(`attentionKernel.mjs: mask ${mask} is not causal, packed or window`);
const fwd = { ...shape, q: random(n), k: random(n), v: random(n), out: be.alloc('f32', n), lse: be.alloc('f32', B * H * T) };
const bwd = { ...fwd, dOut: random(n), dq: be.alloc('f32', n), dk: be.alloc('f32', n), dv: be.alloc('f32', n) };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
// CPU milliseconds per layer (user + system, all threads): on a shared machine, with
// OMP_NUM_THREADS=1, steadier than the wall clock, which the other processes stretch.
const time = (f) => {
  const c0 = process.cpuUsage();
  for (let l = 0; l < 12; l++) f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e3 / 12;
};
time(() => be.attention(fwd)); // warm-up
const res = { forward: [], backward: [] };
for (let r = 0; r < rounds; r++) {
  res.forward.push(time(() => be.attention(fwd)));
  res.backward.push(time(() => be.attentionBackward(bwd)));
}
const gemm = process.env.COLA_GEMM === 'onednn' ? 'onednn' : 'default';
console.log(JSON.stringify({ gemm, mask, forwardCpuMs: median(res.forward), backwardCpuMs: median(res.backward) }));
