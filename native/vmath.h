// Branch-free f32 transcendental functions that `#pragma omp simd` can vectorise
// (glibc's expf only vectorises under -ffast-math, which would break NaN and
// infinity handling everywhere else). Accuracy: a few ulp, far inside the
// conformance tolerance against the f64 reference.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace cola {

#pragma omp declare simd
inline float expF(float x) {
  // Cephes expf: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 polynomial.
  const float hi = 88.3762626647949f, lo = -87.3365447505531f;
  // Selects, not fmin/fmax: with -fno-trapping-math they if-convert and vectorise.
  float xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  // Round to nearest even by adding and subtracting 1.5 * 2^23 (exact for |v| < 2^22,
  // and |v| <= 128 here): the same n as std::nearbyint, but nearbyint is a libm call
  // that blocks vectorisation (8 ns per exp instead of <1, issue #7).
  const float magic = 12582912.0f;
  float n = (xc * 1.44269504088896341f + magic) - magic;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  float y = p * scale;
  y = x > hi ? INFINITY : y;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;  // NaN propagates
}

#pragma omp declare simd
inline float tanhF(float x) {
  // tanh(x) = sign(x) (1 - 2 / (exp(2|x|) + 1)); a short series near 0 avoids
  // the cancellation that would lose relative accuracy there.
  float a = std::fabs(x);
  float e = expF(2.0f * a);
  float t = 1.0f - 2.0f / (e + 1.0f);
  float x2 = x * x;
  float series = a * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f))));
  t = a < 0.0625f ? series : t;
  return std::copysign(t, x);
}

// The largest of x[0..n), NaN ignored as std::fmax ignores it; -inf when n == 0.
// A select, not std::fmax: GCC keeps fmax a libm call per element without
// -ffinite-math-only, so the row max of the LM head's loss and of softmax ran
// scalar at ~3 ns a value, most of crossEntropy's time (issue 15).
inline float rowMax(const float* x, int64_t n) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
  return m;
}

#pragma omp declare simd
inline float sigmoidF(float x) { return 1.0f / (1.0f + expF(-x)); }

// erfc(z) by Numerical Recipes' erfcc (fractional error < 1.2e-7), the same fit
// the reference backend uses, so the gelu_erf tail agrees.
#pragma omp declare simd
inline float erfcF(float z) {
  float a = std::fabs(z);
  float t = 1.0f / (1.0f + 0.5f * a);
  float poly = -1.26551223f +
               t * (1.00002368f +
                    t * (0.37409196f +
                         t * (0.09678418f +
                              t * (-0.18628806f +
                                   t * (0.27886807f +
                                        t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  float tail = t * expF(-a * a + poly);
  return z >= 0.0f ? tail : 2.0f - tail;
}

}  // namespace cola
