// Issue 15: cola's AVX2 GEMM (native/gemm.cc) against oneDNN's dnnl_sgemm, the
// same product alternated in one process; checks agreement, prints GFLOP/s medians.
// Build and run: sh bench/gemm/run.sh
#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "../../native/gemm.h"

using Clock = std::chrono::steady_clock;

static double now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

static uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
static float fromBf16(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

int main(int argc, char** argv) {
  struct Shape { int64_t m, n, k; bool transB; };
  std::vector<Shape> shapes = {{2048, 768, 768, true}, {2048, 3072, 768, true}, {2048, 768, 3072, true},
                               {2048, 768, 768, false}, {2048, 768, 3072, false}, {2048, 3072, 768, false},
                               {293, 50272, 768, true}, {293, 768, 50272, false}, {293, 50272, 768, false}};
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
  if (argc > 2) {  // other shapes: "m,n,k,t m,n,k,n ..." (t: B transposed, as x W^T)
    shapes.clear();
    for (int i = 2; i < argc; i++) {
      long long m, n, k;
      char t;
      if (std::sscanf(argv[i], "%lld,%lld,%lld,%c", &m, &n, &k, &t) != 4) {
        std::fprintf(stderr, "harness: shape %s is not m,n,k,t|n\n", argv[i]);
        return 2;
      }
      shapes.push_back({m, n, k, t == 't'});
    }
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("threads %d\n", omp_get_max_threads());
  for (const Shape& s : shapes) {
    std::vector<float> a(s.m * s.k), b(s.k * s.n), c1(s.m * s.n), c2(s.m * s.n);
    std::vector<uint16_t> bh(b.size());
    for (auto& x : a) x = u(rng);
    for (size_t i = 0; i < b.size(); i++) { bh[i] = toBf16(u(rng)); b[i] = fromBf16(bh[i]); }
    const int64_t ldb = s.transB ? s.k : s.n;
    auto onednn = [&] { dnnl_sgemm('N', s.transB ? 'T' : 'N', s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), ldb, 0.0f, c1.data(), s.n); };
    auto ours = [&](bool bf16) {
      cola::GemmArgs g{s.m, s.n, s.k, a.data(), s.k, false, bf16 ? static_cast<const void*>(bh.data()) : b.data(), ldb, s.transB, bf16, c2.data(), s.n, 1.0f, 0.0f, nullptr};
      cola::gemmAvx2(g);
    };
    onednn();
    ours(true);
    double maxDiff = 0, maxRef = 0;
    for (size_t i = 0; i < c1.size(); i++) { maxDiff = std::max(maxDiff, (double)std::fabs(c1[i] - c2[i])); maxRef = std::max(maxRef, (double)std::fabs(c1[i])); }
    std::vector<double> t[3];
    for (int r = 0; r < rounds; r++) {
      for (int v = 0; v < 3; v++) {
        const double t0 = now();
        if (v == 0) onednn(); else ours(v == 2);
        t[v].push_back(now() - t0);
      }
    }
    const double flop = 2.0 * s.m * s.n * s.k;
    auto med = [&](std::vector<double> x) { std::sort(x.begin(), x.end()); return flop / x[x.size() / 2] / 1e9; };
    std::printf("%s %ldx%ldx%ld: oneDNN sgemm %.1f | cola f32 %.1f | cola bf16 B %.1f GFLOP/s (max diff %.2e of %.2e)\n", s.transB ? "NT" : "NN",
                (long)s.m, (long)s.k, (long)s.n, med(t[0]), med(t[1]), med(t[2]), maxDiff, maxRef);
  }
}
