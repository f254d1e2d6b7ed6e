// Issue 15: the order in which native/gemm.cc packs a stored (not transposed) bf16 B
// block: micro-panel by micro-panel (16 values of each of kc rows, then the next 16),
// or several panels at once, reading each stored row once for all of them. The block
// comes from memory (a flush between repetitions, as a weight does in the step); the
// minimum of 40 alternated repetitions, one thread. Build and run: sh bench/gemm/run.sh pack
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

static inline __m256 widen8(const uint16_t* s) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s))), 16));
}

// Panels [0, panels) of 16 columns, `group` panels at a time, each row of a group read once.
static void pack(const uint16_t* b, int64_t ldb, int64_t kc, int64_t panels, int64_t group, float* out) {
  for (int64_t j0 = 0; j0 < panels; j0 += group)
    for (int64_t p = 0; p < kc; p++)
      for (int64_t jp = j0; jp < std::min(panels, j0 + group); jp++) {
        float* o = out + (jp * kc + p) * 16;
        _mm256_store_ps(o, widen8(b + p * ldb + jp * 16));
        _mm256_store_ps(o + 8, widen8(b + p * ldb + jp * 16 + 8));
      }
}

int main() {
  const int64_t kc = 768, groups[] = {1, 2, 4, 8};
  for (int64_t ldb : {768, 2048, 3072, 8192}) {
    const int64_t panels = std::min<int64_t>(ldb, 4080) / 16;
    std::vector<uint16_t> b(kc * ldb, 0x3c00);
    auto* out = static_cast<float*>(std::aligned_alloc(64, panels * kc * 16 * sizeof(float)));
    std::vector<uint16_t> flush(64 << 20, 1);
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    for (int r = 0; r < 40; r++)
      for (int v = 0; v < 4; v++) {
        volatile uint64_t sum = 0;
        for (size_t i = 0; i < flush.size(); i += 32) sum += flush[i];
        const auto t0 = std::chrono::steady_clock::now();
        pack(b.data(), ldb, kc, panels, groups[v], out);
        best[v] = std::min(best[v], std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    std::printf("B block %ld x %ld bf16 (row stride %ld bytes): ms by panels per group", kc, panels * 16, ldb * 2);
    for (int v = 0; v < 4; v++) std::printf(" | %ld: %.3f", groups[v], best[v] * 1e3);
    std::printf("\n");
    std::free(out);
  }
}
