// cola's own f32 product for AVX2 + FMA CPUs without AVX-512 (issue 15): a
// BLIS-style blocked GEMM (Goto and van de Geijn 2008; Van Zee and van de Geijn
// 2015) whose B packing widens a bf16 weight to f32 on the fly, so a bf16
// checkpoint multiplies at the f32 rate with no f32 copy of its weights.
// Free of N-API: bench/gemm/ links it into a plain C++ harness.
#pragma once

#include <cstdint>

namespace cola {

// C [m, n] (row stride ldc) = alpha op(A) op(B) + beta C (+ bias [n]).
// op(A) [m, k]: a[i * lda + p], or a[p * lda + i] when transA.
// op(B) [k, n]: b[p * ldb + j], or b[j * ldb + p] when transB; b is f32, or bf16
// (uint16 bit patterns) when bBf16. beta == 0 never reads C (it may hold NaN).
struct GemmArgs {
  int64_t m, n, k;
  const float* a;
  int64_t lda;
  bool transA;
  const void* b;
  int64_t ldb;
  bool transB;
  bool bBf16;
  float* c;
  int64_t ldc;
  float alpha, beta;
  const float* bias;  // nullptr: none
};

// Whether this CPU is the one the kernel is for: AVX2 and FMA, no AVX-512F
// (where oneDNN's 512-bit kernels do twice the work per instruction). The
// environment variable COLA_GEMM=onednn turns it off (A/B measurement).
bool gemmAvx2Suits();

// Whether a product is big enough in every dimension for the blocked kernel to
// beat oneDNN (small or skinny products: LoRA's rank-r factors, attention tiles).
bool gemmAvx2Worth(int64_t m, int64_t n, int64_t k);

// Runs the product on the calling thread's OpenMP team (omp_get_max_threads()).
void gemmAvx2(const GemmArgs& g);

// The whole product on the calling thread, for a product that is already one task of a
// parallel loop (gemmTaskF32: attention's query blocks). k must be positive.
void gemmAvx2Serial(const GemmArgs& g);

}  // namespace cola
