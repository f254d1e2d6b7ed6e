// Issue 15: the driver of bench/gemm/variants.sh. For each product of an opt-125m LoRA step
// (bf16 B, the shapes and call counts of `cola bench train-step --profile`), every variant
// runs once per repetition in rotated order; reports each variant's median GFLOP/s, its
// median per-repetition time ratio to variant 0, and whether its C differs from variant 0's.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "gemm.h"

extern std::vector<void (*)(const cola::GemmArgs&)> variants;
extern std::vector<const char*> names;

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int main(int argc, char** argv) {
  struct Shape {
    int64_t m, n, k;
    bool transB;
    double callsPerStep;
  };
  const std::vector<Shape> shapes = {{2048, 768, 768, true, 48},   {2048, 3072, 768, true, 12}, {2048, 768, 3072, true, 12},
                                     {2048, 768, 768, false, 45},  {2048, 768, 3072, false, 12}, {2048, 3072, 768, false, 12},
                                     {1024, 50272, 768, false, 2}, {1024, 768, 50272, true, 2}};
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 9;
  const size_t nv = variants.size();
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<double> stepSeconds(nv, 0);
  for (const Shape& s : shapes) {
    std::vector<float> a(s.m * s.k), c(s.m * s.n), first;
    std::vector<uint16_t> b(s.k * s.n);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) {
      const float f = u(rng);
      uint32_t w;
      std::memcpy(&w, &f, 4);
      x = static_cast<uint16_t>(w >> 16);
    }
    const int64_t ldb = s.transB ? s.k : s.n;
    const int r = s.n > 10000 || s.k > 10000 ? std::max(3, reps / 3) : reps;  // the LM head's: 80 GFLOP each
    std::vector<std::vector<double>> t(nv);
    for (int i = 0; i <= r; i++) {  // repetition 0 warms up and checks agreement
      for (size_t j = 0; j < nv; j++) {
        const size_t v = (j + i) % nv;
        const cola::GemmArgs g{s.m, s.n, s.k, a.data(), s.k, false, b.data(), ldb, s.transB, true, c.data(), s.n, 1.0f, 0.0f, nullptr};
        const double t0 = now();
        variants[v](g);
        const double dt = now() - t0;
        if (i > 0) t[v].push_back(dt);
        if (i == 0 && v == 0) first = c;
        if (i == 0 && v != 0 && first.size() == c.size()) {
          double diff = 0;
          for (size_t e = 0; e < c.size(); e++) diff = std::max(diff, static_cast<double>(std::fabs(c[e] - first[e])));
          if (diff > 1e-3) std::printf("  %s differs from %s by %.3g\n", names[v], names[0], diff);
        }
      }
    }
    const double flop = 2.0 * s.m * s.n * s.k;
    std::printf("%s %ldx%ldx%ld (M x N x K)", s.transB ? "NT" : "NN", static_cast<long>(s.m), static_cast<long>(s.n), static_cast<long>(s.k));
    for (size_t v = 0; v < nv; v++) {
      std::vector<double> sorted = t[v], ratio;
      std::sort(sorted.begin(), sorted.end());
      for (size_t i = 0; i < t[v].size(); i++) ratio.push_back(t[v][i] / t[0][i]);
      std::sort(ratio.begin(), ratio.end());
      const double med = sorted[sorted.size() / 2];
      stepSeconds[v] += s.callsPerStep * med;
      std::printf(" | %s %.1f GFLOP/s (t/t0 %.3f)", names[v], flop / med / 1e9, ratio[ratio.size() / 2]);
    }
    std::printf("\n");
  }
  std::printf("one step's products, ms:");
  for (size_t v = 0; v < nv; v++) std::printf(" %s %.0f", names[v], stepSeconds[v] * 1000);
  std::printf("\n");
}
