// Walking a multi-dimensional index space with several stride sets at once
// (copyStrided, binary). Dimensions are first simplified (size-1 dims dropped,
// contiguous neighbours merged) so most calls become one long inner loop.
#pragma once

#include <algorithm>

#include "common.h"

namespace cola {

template <size_t N>
struct StridedSpace {
  std::vector<int64_t> shape;                    // after simplification; may be empty (one element)
  std::array<std::vector<int64_t>, N> strides;  // per operand, same rank as shape
  int64_t count = 1;                             // number of elements
};

template <size_t N>
StridedSpace<N> simplify(const std::vector<int64_t>& shape, const std::array<std::vector<int64_t>, N>& strides) {
  StridedSpace<N> s;
  for (size_t d = 0; d < shape.size(); d++) {
    s.count *= shape[d];
    if (shape[d] == 1) continue;
    bool merge = !s.shape.empty();
    for (size_t k = 0; k < N && merge; k++) merge = s.strides[k].back() == strides[k][d] * shape[d];
    if (merge) {
      s.shape.back() *= shape[d];
      for (size_t k = 0; k < N; k++) s.strides[k].back() = strides[k][d];
    } else {
      s.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; k++) s.strides[k].push_back(strides[k][d]);
    }
  }
  return s;
}

// Throws unless every offset base + Σ i_d strides[d] (0 <= i_d < shape[d]) lies in [0, len).
inline void requireInBounds(Napi::Env env, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides,
                            int64_t base, size_t len, const char* name) {
  int64_t lo = base, hi = base;
  for (size_t d = 0; d < shape.size(); d++) {
    int64_t span = (shape[d] - 1) * strides[d];
    (span < 0 ? lo : hi) += span;
  }
  if (lo < 0 || hi >= static_cast<int64_t>(len)) {
    throw argError(env, std::string(name) + ": strided access reaches offsets [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "] outside the array of " + std::to_string(len) + " elements");
  }
}

// Calls body(offsets..., n, innerStrides...) per row of the innermost dim: the
// outer index space is split across threads; `serial` forces one thread.
template <size_t N, typename Body>
void forEachRow(const StridedSpace<N>& s, const std::array<int64_t, N>& bases, bool serial, Body body) {
  if (s.count == 0) return;
  const size_t rank = s.shape.size();
  if (rank == 0) {
    std::array<int64_t, N> inner{};
    body(bases, int64_t{1}, inner);
    return;
  }
  const int64_t n = s.shape[rank - 1];
  std::array<int64_t, N> inner;
  for (size_t k = 0; k < N; k++) inner[k] = s.strides[k][rank - 1];
  const int64_t rows = s.count / n;
  // Long rows are cut into chunks so a 1-D copy still uses every core.
  constexpr int64_t kChunk = 16384;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const int64_t tasks = rows * chunks;
  const bool parallel = !serial && s.count > 32768 && tasks > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t r = t / chunks, c = t % chunks;
    std::array<int64_t, N> off = bases;
    int64_t rem = r;
    for (size_t d = rank - 1; d-- > 0;) {  // mixed-radix decomposition of r
      int64_t i = rem % s.shape[d];
      rem /= s.shape[d];
      for (size_t k = 0; k < N; k++) off[k] += i * s.strides[k][d];
    }
    for (size_t k = 0; k < N; k++) off[k] += c * kChunk * inner[k];
    body(off, std::min(kChunk, n - c * kChunk), inner);
  }
}

}  // namespace cola
