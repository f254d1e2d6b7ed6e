// Fused log-softmax + negative log-likelihood over logits [rows, vocab]; the
// gradient may be written in place over the logits (each row is fully read first).
#include <cmath>

#include "common.h"
#include "vmath.h"

namespace cola {

double rowLogSumExp(const float* x, int64_t cols);  // softmax.cc

namespace {

// crossEntropy(CrossEntropyArgs { logits, targets, loss, dLogits|null, rows, vocab, ignoreIndex, gradScale })
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "crossEntropy");
  Napi::Env env = info.Env();
  View<float> logits = arrayArg<float>(r, "logits");
  View<int32_t> targets = arrayArg<int32_t>(r, "targets");
  View<float> loss = arrayArg<float>(r, "loss");
  View<float> dLogits = optArrayArg<float>(r, "dLogits");
  const int64_t rows = sizeArg(r, "rows"), vocab = sizeArg(r, "vocab");
  const int64_t ignoreIndex = intArg(r, "ignoreIndex");
  const float gradScale = static_cast<float>(numArg(r, "gradScale"));
  requireLen(env, logits.size, rows * vocab, "crossEntropy logits");
  requireLen(env, targets.size, rows, "crossEntropy targets");
  requireLen(env, loss.size, rows, "crossEntropy loss");
  if (dLogits.data) requireLen(env, dLogits.size, rows * vocab, "crossEntropy dLogits");
  // Checked up front: a parallel loop cannot throw.
  for (int64_t r = 0; r < rows; r++) {
    const int64_t t = targets.data[r];
    if (t != ignoreIndex && (t < 0 || t >= vocab)) {
      throw Napi::RangeError::New(env, "crossEntropy: target " + std::to_string(t) + " of row " + std::to_string(r) +
                                           " is outside [0, " + std::to_string(vocab) + ") and is not ignoreIndex (" +
                                           std::to_string(ignoreIndex) + ")");
    }
  }
#pragma omp parallel for schedule(static) if (rows * vocab > 16384)
  for (int64_t r = 0; r < rows; r++) {
    const float* x = logits.data + r * vocab;
    const int64_t t = targets.data[r];
    const bool ignored = t == ignoreIndex;
    const double lse = rowLogSumExp(x, vocab);
    loss.data[r] = ignored ? 0.0f : static_cast<float>(lse - x[t]);
    if (!dLogits.data) continue;
    float* d = dLogits.data + r * vocab;
    if (ignored) {
      std::memset(d, 0, static_cast<size_t>(vocab) * sizeof(float));
      continue;
    }
    const float target = x[t];  // read before the row is overwritten (in-place)
    const float l = static_cast<float>(lse);
#pragma omp simd
    for (int64_t j = 0; j < vocab; j++) d[j] = gradScale * expF(x[j] - l);
    d[t] = gradScale * (expF(target - l) - 1.0f);
  }
  return env.Undefined();
}

}  // namespace

void InitCrossEntropy(Napi::Env env, Napi::Object exports) { exportFn(env, exports, "crossEntropy", CrossEntropy); }

}  // namespace cola
