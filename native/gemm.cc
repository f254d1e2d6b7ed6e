// cola's blocked f32 GEMM for AVX2 + FMA (see gemm.h). The loops are BLIS's five
// around a 6x16 register micro-kernel (12 ymm accumulators, 2 B loads and 6 A
// broadcasts per step of k): B is packed KC x NC into NR-column micro-panels that
// stay in L1 while MR-row micro-panels of A (packed MC x KC, in L2) stream past.
// Packing B is where a bf16 weight is widened (a shift of its bits), once per
// block, so a bf16 B costs what an f32 B does. Block sizes start from BLIS's for AMD
// Zen (config/zen: MC 144, KC 256, NC 4080 for sgemm); KC 768 measured better on the
// AMD EPYC (Zen 4, 1 MiB L2) of session 8 (bench/gemm/run.sh, bench/RESULTS.md): C is
// read and written once per 768 of K, which the LM head's 293 x 50272 C (59 MB, never
// in cache) paid three times at 256. CPUs with a 256 KiB L2 may want a smaller MC.
#include "gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <cstdlib>
#include <cstring>
#include <new>

namespace cola {

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;
constexpr int64_t kMC = 144;
constexpr int64_t kKC = 768;
constexpr int64_t kNC = 4080;  // a multiple of kNR

// Thread-local, 64-byte aligned float scratch that only grows.
struct Buffer {
  float* p = nullptr;
  size_t elems = 0;
  ~Buffer() { std::free(p); }
  float* get(size_t n) {
    if (n > elems) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64));
      if (p == nullptr) throw std::bad_alloc();
      elems = n;
    }
    return p;
  }
};

inline __m256 widen8(const uint16_t* s) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline float widen1(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Eight consecutive values of a stored row of B (f32 or bf16), as f32.
inline __m256 load8(const GemmArgs& g, int64_t offset) {
  return g.bBf16 ? widen8(static_cast<const uint16_t*>(g.b) + offset) : _mm256_loadu_ps(static_cast<const float*>(g.b) + offset);
}

inline float bAt(const GemmArgs& g, int64_t p, int64_t j) {
  const int64_t at = g.transB ? j * g.ldb + p : p * g.ldb + j;
  return g.bBf16 ? widen1(static_cast<const uint16_t*>(g.b)[at]) : static_cast<const float*>(g.b)[at];
}

inline float aAt(const GemmArgs& g, int64_t i, int64_t p) { return g.transA ? g.a[p * g.lda + i] : g.a[i * g.lda + p]; }

// r[i][j] -> r[j][i] for an 8x8 block held in eight registers.
inline void transpose8(__m256* r) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// One B micro-panel: op(B)[p0 : p0 + kc, j0 : j0 + nr] into out[p * kNR + jj],
// zero beyond nr (the kernel always computes 16 columns).
void packBPanel(const GemmArgs& g, int64_t p0, int64_t kc, int64_t j0, int nr, float* out) {
  if (nr == kNR && !g.transB) {  // a stored row of B is a row of the panel
    for (int64_t p = 0; p < kc; p++) {
      const int64_t at = (p0 + p) * g.ldb + j0;
      _mm256_store_ps(out + p * kNR, load8(g, at));
      _mm256_store_ps(out + p * kNR + 8, load8(g, at + 8));
    }
    return;
  }
  if (nr == kNR) {  // transB: 16 stored rows, each a column of the panel
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      for (int half = 0; half < 2; half++) {
        __m256 r[8];
        for (int q = 0; q < 8; q++) r[q] = load8(g, (j0 + half * 8 + q) * g.ldb + p0 + p);
        transpose8(r);
        for (int q = 0; q < 8; q++) _mm256_store_ps(out + (p + q) * kNR + half * 8, r[q]);
      }
    }
    for (; p < kc; p++)
      for (int jj = 0; jj < kNR; jj++) out[p * kNR + jj] = bAt(g, p0 + p, j0 + jj);
    return;
  }
  for (int64_t p = 0; p < kc; p++)
    for (int jj = 0; jj < kNR; jj++) out[p * kNR + jj] = jj < nr ? bAt(g, p0 + p, j0 + jj) : 0.0f;
}

// kPackGroup consecutive B micro-panels packed together: for a stored (not
// transposed) B, each stored row is read once for all of them (128 contiguous
// values) instead of 16 at a time once per panel, with rows 4 KiB apart (N 2048 in
// bf16) falling in one L1 set, so a row's line was gone before the next panel came
// for its other half. Packing a 768 x 2048 bf16 block from memory took 0.67 ms panel
// by panel and 0.51 ms 8 panels at a time, 768 x 4080 (row stride 16 KiB) 2.25 and
// 1.05 ms (minimum of 40, one thread: sh bench/gemm/run.sh pack,
// bench/raw/session12-pack-order.txt). A transposed B keeps the panel-wise 8x8
// transposes: running both 8-row halves of a panel in turn measured slower.
constexpr int64_t kPackGroup = 8;

// The micro-panels [jp0, jp1) of the B block op(B)[p0 : p0 + kc, jc : jc + nc] into
// their places in bPack.
void packBPanels(const GemmArgs& g, int64_t p0, int64_t kc, int64_t jc, int64_t nc, int64_t jp0, int64_t jp1, float* bPack) {
  if (g.transB || jp1 * kNR > nc) {  // transposed, or an edge panel
    for (int64_t jp = jp0; jp < jp1; jp++)
      packBPanel(g, p0, kc, jc + jp * kNR, static_cast<int>(std::min<int64_t>(kNR, nc - jp * kNR)), bPack + jp * kc * kNR);
    return;
  }
  for (int64_t p = 0; p < kc; p++) {
    const int64_t row = (p0 + p) * g.ldb + jc;
    for (int64_t jp = jp0; jp < jp1; jp++) {
      float* out = bPack + (jp * kc + p) * kNR;
      _mm256_store_ps(out, load8(g, row + jp * kNR));
      _mm256_store_ps(out + 8, load8(g, row + jp * kNR + 8));
    }
  }
}

// One A micro-panel: op(A)[i0 : i0 + mr, p0 : p0 + kc] into out[p * kMR + ii],
// zero beyond mr. out has 2 floats of slack: the 8-wide stores below write past
// the 6 values of a step of p (the next store, or the slack, takes them).
void packAPanel(const GemmArgs& g, int64_t i0, int mr, int64_t p0, int64_t kc, float* out) {
  if (mr == kMR && !g.transA) {  // 6 stored rows, each contiguous in p: 8x8 transposes
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      __m256 r[8];
      for (int q = 0; q < kMR; q++) r[q] = _mm256_loadu_ps(g.a + (i0 + q) * g.lda + p0 + p);
      r[6] = r[7] = _mm256_setzero_ps();
      transpose8(r);
      for (int q = 0; q < 8; q++) _mm256_storeu_ps(out + (p + q) * kMR, r[q]);
    }
    for (; p < kc; p++)
      for (int ii = 0; ii < kMR; ii++) out[p * kMR + ii] = g.a[(i0 + ii) * g.lda + p0 + p];
    return;
  }
  if (g.transA) {  // op(A) = A^T: the panel's values at one p are mr contiguous floats
    alignas(32) static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const __m256i first = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lanes + 8 - mr));  // mr lanes
    for (int64_t p = 0; p < kc; p++) _mm256_storeu_ps(out + p * kMR, _mm256_maskload_ps(g.a + (p0 + p) * g.lda + i0, first));
    return;
  }
  for (int64_t p = 0; p < kc; p++)
    for (int ii = 0; ii < kMR; ii++) out[p * kMR + ii] = ii < mr ? aAt(g, i0 + ii, p0 + p) : 0.0f;
}

// c[0:16] = alpha * (x0, x1) + beta * c (+ bias), for one row of a C tile.
inline void storeRow(float* c, __m256 x0, __m256 x1, __m256 alpha, float beta, const float* bias) {
  x0 = _mm256_mul_ps(x0, alpha);
  x1 = _mm256_mul_ps(x1, alpha);
  if (beta != 0.0f) {
    const __m256 vb = _mm256_set1_ps(beta);
    x0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), x0);
    x1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), x1);
  }
  if (bias != nullptr) {
    x0 = _mm256_add_ps(x0, _mm256_loadu_ps(bias));
    x1 = _mm256_add_ps(x1, _mm256_loadu_ps(bias + 8));
  }
  _mm256_storeu_ps(c, x0);
  _mm256_storeu_ps(c + 8, x1);
}

struct Tile {
  float* c;  // the tile's top-left element of C
  int64_t ldc;
  int mr, nr;  // valid rows and columns (edges of C)
  float alpha, beta;
  const float* bias;  // the tile's 16 (nr) bias values, nullptr: none
};

// The 6x16 micro-kernel: tile += the product of an A and a B micro-panel, kc deep.
// noinline: compiled alone it keeps both panel pointers in registers (inlined into
// the block loop, GCC spilled one to the stack inside the k loop).
__attribute__((noinline)) void microKernel(int64_t kc, const float* ap, const float* bp, const Tile& t) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int i = 0; i < t.mr; i++) _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.ldc), _MM_HINT_T0);
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
    __m256 a = _mm256_broadcast_ss(ap);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(ap + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(ap + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(ap + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(ap + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(ap + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
    ap += kMR;
    bp += kNR;
  }
  const __m256 alpha = _mm256_set1_ps(t.alpha);
  if (t.mr == kMR && t.nr == kNR) {
    storeRow(t.c, c00, c01, alpha, t.beta, t.bias);
    storeRow(t.c + t.ldc, c10, c11, alpha, t.beta, t.bias);
    storeRow(t.c + 2 * t.ldc, c20, c21, alpha, t.beta, t.bias);
    storeRow(t.c + 3 * t.ldc, c30, c31, alpha, t.beta, t.bias);
    storeRow(t.c + 4 * t.ldc, c40, c41, alpha, t.beta, t.bias);
    storeRow(t.c + 5 * t.ldc, c50, c51, alpha, t.beta, t.bias);
    return;
  }
  // An edge tile: through a full 6x16 buffer, then only the valid part.
  alignas(32) float buf[kMR][kNR];
  const __m256 rows[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int i = 0; i < kMR; i++) {
    _mm256_store_ps(buf[i], rows[i][0]);
    _mm256_store_ps(buf[i] + 8, rows[i][1]);
  }
  for (int i = 0; i < t.mr; i++) {
    float* c = t.c + i * t.ldc;
    for (int j = 0; j < t.nr; j++) {
      float v = t.alpha * buf[i][j];
      if (t.beta != 0.0f) v += t.beta * c[j];
      if (t.bias != nullptr) v += t.bias[j];
      c[j] = v;
    }
  }
}

// The calling thread's packing buffers, one for A blocks and one for B blocks,
// shared by both splits (a thread runs one product at a time); they only grow.
float* aPackBuffer() {
  thread_local Buffer a;
  return a.get(static_cast<size_t>(kMC * kKC + 8));
}

float* bPackBuffer(size_t elems) {
  thread_local Buffer b;
  return b.get(elems);
}

// The rows [r0, r1) of C against one packed B block (op(B)[pc : pc + kc, jc : jc + nc]).
void multiplyBlock(const GemmArgs& g, const float* bPack, int64_t jc, int64_t nc, int64_t pc, int64_t kc, int64_t r0,
                   int64_t r1, float* aPack) {
  const float beta = pc == 0 ? g.beta : 1.0f;  // later K blocks accumulate
  const bool last = pc + kc == g.k;
  // Row blocks of equal size (at most kMC, whole micro-panels): 293 rows as 102 + 102
  // + 89, not 144 + 144 + 5, whose last block would stream every B micro-panel from
  // L3 for one micro-panel of A.
  const int64_t blocks = (r1 - r0 + kMC - 1) / kMC;
  const int64_t mcStep = ((r1 - r0 + blocks - 1) / blocks + kMR - 1) / kMR * kMR;
  for (int64_t ic = r0; ic < r1; ic += mcStep) {
    const int64_t mc = std::min(mcStep, r1 - ic);
    for (int64_t ip = 0; ip * kMR < mc; ip++) packAPanel(g, ic + ip * kMR, static_cast<int>(std::min<int64_t>(kMR, mc - ip * kMR)), pc, kc, aPack + ip * kc * kMR);
    for (int64_t jp = 0; jp * kNR < nc; jp++) {
      const int64_t j = jc + jp * kNR;
      const int nr = static_cast<int>(std::min<int64_t>(kNR, nc - jp * kNR));
      for (int64_t ip = 0; ip * kMR < mc; ip++) {
        const int64_t i = ic + ip * kMR;
        Tile t{g.c + i * g.ldc + j, g.ldc, static_cast<int>(std::min<int64_t>(kMR, mc - ip * kMR)), nr, g.alpha, beta,
               last && g.bias != nullptr ? g.bias + j : nullptr};
        microKernel(kc, aPack + ip * kc * kMR, bPack + jp * kc * kNR, t);
      }
    }
  }
}

// Rows: the team packs each B block together (a barrier per block), then deals
// the block's row blocks (at most kMC rows) to whichever thread is free; the linear
// layers' products (2048 rows, K 768 or 3072). Columns: each thread packs its own B
// panels and all of A, with no barrier; for short, wide C or a long K (the LM
// head's: 293 rows by 50272 columns, or 50272 deep, where a row split paid two
// barriers per 256 of K, and measured 10-12% slower at KC 768).
bool splitByColumns(const GemmArgs& g, int nt) {
  const int64_t colsPerThread = g.n / nt;
  return colsPerThread >= 4 * kNR && (g.k > 4 * kKC || (g.m < 1024 && colsPerThread >= 2048));
}

// Rows go out dynamically, not as one fixed half per thread: on a shared or virtual
// machine one core often runs slower than the other for a while (the host's other
// tenants), and a fixed split waits for the slower half at every block's barrier.
// Dealt blocks measured 1-11% faster than fixed halves on the opt-125m shapes (medians
// of 21 alternated products, bench/RESULTS.md session 11). Deals shrink as the rows
// run out (guided, like OpenMP's schedule(guided), capped at kMC rows for the A block
// in L2 and floored at kMinDeal micro-panels so a B micro-panel still serves several):
// blocks of a fixed kMC left a thread idle for up to one block at the end of each,
// ~6% of a 1024-row block (cores busy 1.86 where the rest of the product kept 1.93).
// Each deal is one thread's whole sum in a fixed order, so C is bit-identical whoever
// computes it.
constexpr int64_t kMinDeal = 4;  // micro-panels (24 rows)

// The next rows [r0, r1) of a block from its shared cursor (in micro-panels), or false
// when none are left.
bool dealRows(std::atomic<int64_t>& cursor, int64_t m, int nt, int64_t& r0, int64_t& r1) {
  const int64_t panels = (m + kMR - 1) / kMR;
  int64_t at = cursor.load(std::memory_order_relaxed);
  int64_t take;
  do {
    if (at >= panels) return false;
    take = std::clamp<int64_t>((panels - at + 2 * nt - 1) / (2 * nt), kMinDeal, kMC / kMR);
  } while (!cursor.compare_exchange_weak(at, at + take, std::memory_order_relaxed));
  r0 = at * kMR;
  r1 = std::min(m, (at + take) * kMR);
  return true;
}

// cursors: one per (N block, K block), zeroed, shared by the team.
void rowSplit(const GemmArgs& g, float* bPack, std::atomic<int64_t>* cursors) {
  float* aPack = aPackBuffer();
  const int nt = omp_get_num_threads();
  int64_t block = 0;
  for (int64_t jc = 0; jc < g.n; jc += kNC) {
    const int64_t nc = std::min(kNC, g.n - jc);
    const int64_t panels = (nc + kNR - 1) / kNR;
    for (int64_t pc = 0; pc < g.k; pc += kKC, block++) {
      const int64_t kc = std::min(kKC, g.k - pc);
#pragma omp for schedule(dynamic, 1)
      for (int64_t group = 0; group < (panels + kPackGroup - 1) / kPackGroup; group++)
        packBPanels(g, pc, kc, jc, nc, group * kPackGroup, std::min(panels, (group + 1) * kPackGroup), bPack);
      // (the loop's barrier: the block is packed before anyone multiplies)
      int64_t r0, r1;
      while (dealRows(cursors[block], g.m, nt, r0, r1)) multiplyBlock(g, bPack, jc, nc, pc, kc, r0, r1, aPack);
#pragma omp barrier
      // (everyone is done with the block before it is repacked)
    }
  }
}

// The columns [c0, c1) of C on the calling thread: its own B panels, all of A. N blocks
// of equal width (at most kNC, whole panels): a thread's 4096 columns (OPT-1.3B's 8192
// over 2) as 2048 + 2048, not 4080 + 16, whose last block repacked all of A for one
// panel. An element's sum runs over K in the same order either way: the same bits.
void multiplyColumns(const GemmArgs& g, int64_t c0, int64_t c1) {
  if (c0 >= c1) return;
  float* aPack = aPackBuffer();
  const int64_t blocks = (c1 - c0 + kNC - 1) / kNC;
  const int64_t ncStep = ((c1 - c0 + blocks - 1) / blocks + kNR - 1) / kNR * kNR;  // <= kNC
  float* bPack = bPackBuffer(static_cast<size_t>(ncStep * std::min(kKC, g.k)));
  for (int64_t jc = c0; jc < c1; jc += ncStep) {
    const int64_t nc = std::min(ncStep, c1 - jc);
    for (int64_t pc = 0; pc < g.k; pc += kKC) {
      const int64_t kc = std::min(kKC, g.k - pc);
      const int64_t panels = (nc + kNR - 1) / kNR;
      for (int64_t jp = 0; jp < panels; jp += kPackGroup) packBPanels(g, pc, kc, jc, nc, jp, std::min(panels, jp + kPackGroup), bPack);
      multiplyBlock(g, bPack, jc, nc, pc, kc, 0, g.m, aPack);
    }
  }
}

void columnSplit(const GemmArgs& g) {
  const int nt = omp_get_num_threads(), t = omp_get_thread_num();
  const int64_t panels = (g.n + kNR - 1) / kNR;
  multiplyColumns(g, std::min(g.n, panels * t / nt * kNR), std::min(g.n, panels * (t + 1) / nt * kNR));
}

}  // namespace

void gemmAvx2Serial(const GemmArgs& g) {
  if (g.m > 0 && g.n > 0 && g.k > 0) multiplyColumns(g, 0, g.n);
}

bool gemmAvx2Suits() {
  static const bool suits = [] {
    __builtin_cpu_init();
    const char* force = std::getenv("COLA_GEMM");  // "onednn": the previous path, for A/B measurement
    if (force != nullptr && std::strcmp(force, "onednn") == 0) return false;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !__builtin_cpu_supports("avx512f");
  }();
  return suits;
}

bool gemmAvx2Worth(int64_t m, int64_t n, int64_t k) {
  // Below these, packing is not amortised and oneDNN's small-matrix paths win.
  return m >= 16 && n >= 64 && k >= 64 && static_cast<double>(m) * n * k >= double{1 << 21};
}

void gemmAvx2(const GemmArgs& g) {
  if (g.m <= 0 || g.n <= 0 || g.k <= 0) return;
  if (splitByColumns(g, omp_get_max_threads())) {
#pragma omp parallel
    columnSplit(g);
    return;
  }
  const int64_t ncMax = std::min<int64_t>(kNC, (g.n + kNR - 1) / kNR * kNR);
  float* bPack = bPackBuffer(static_cast<size_t>(ncMax * std::min(kKC, g.k)));  // the team shares it
  // a deal cursor per (N block, K block): no reset (and no barrier for one) between blocks
  const size_t blocks = static_cast<size_t>((g.n + kNC - 1) / kNC * ((g.k + kKC - 1) / kKC));
  std::unique_ptr<std::atomic<int64_t>[]> cursors(new std::atomic<int64_t>[blocks]);
  for (size_t b = 0; b < blocks; b++) cursors[b].store(0, std::memory_order_relaxed);
#pragma omp parallel
  rowSplit(g, bPack, cursors.get());
}

}  // namespace cola
