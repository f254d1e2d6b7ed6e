/* Issue 15: the machine's f32 FMA ceiling, the number every GFLOP/s figure here is a share of.
 * Each OpenMP thread runs 12 independent chains of 256-bit FMAs (enough to cover the FMA
 * latency on two pipes) for a fixed count and reports its rate; the sum is the team's peak.
 * Build and run: sh bench/gemm/run.sh peak [threads] */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>

int main(void) {
  double total = 0;
#pragma omp parallel reduction(+ : total)
  {
    __m256 acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps(i * 0.001f);
    const __m256 b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(0.0001f);
    const long n = 60000000;
    double t0 = omp_get_wtime();
    for (long k = 0; k < n; k++)
      for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], b, c);
    double t = omp_get_wtime() - t0;
    float s = 0, v[8];
    for (int i = 0; i < 12; i++) {
      _mm256_storeu_ps(v, acc[i]);
      s += v[0];
    }
    if (s == 12345.f) printf("(never)\n"); /* keeps the chains live */
    total += n * 12.0 * 16.0 / t / 1e9;
  }
  printf("fma peak: %d threads, %.1f GFLOP/s\n", omp_get_max_threads(), total);
  return 0;
}
