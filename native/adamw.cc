// One AdamW step in place, torch.optim.AdamW semantics (decoupled decay shrinks p
// and never enters m or v). Arithmetic in f64 as the reference; memory-bound anyway.
#include <cmath>

#include "common.h"

namespace cola {
namespace {

// adamw(AdamWArgs { param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step })
Napi::Value Adamw(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "adamw");
  Napi::Env env = info.Env();
  View<float> p = arrayArg<float>(r, "param"), g = arrayArg<float>(r, "grad");
  View<float> m = arrayArg<float>(r, "m"), v = arrayArg<float>(r, "v");
  const double lr = numArg(r, "lr"), beta1 = numArg(r, "beta1"), beta2 = numArg(r, "beta2");
  const double eps = numArg(r, "eps"), wd = numArg(r, "weightDecay"), step = numArg(r, "step");
  if (!(step >= 1)) throw Napi::RangeError::New(env, "adamw: step is 1-based, got " + std::to_string(step));
  const int64_t n = static_cast<int64_t>(p.size);
  requireLen(env, g.size, n, "adamw grad");
  requireLen(env, m.size, n, "adamw m");
  requireLen(env, v.size, n, "adamw v");
  const double c1 = 1.0 - std::pow(beta1, step), c2 = 1.0 - std::pow(beta2, step);
  const double decay = 1.0 - lr * wd;
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; i++) {
    const double gi = g.data[i];
    const float mi = static_cast<float>(beta1 * m.data[i] + (1.0 - beta1) * gi);
    const float vi = static_cast<float>(beta2 * v.data[i] + (1.0 - beta2) * gi * gi);
    m.data[i] = mi;
    v.data[i] = vi;
    const double mHat = mi / c1, vHat = vi / c2;
    p.data[i] = static_cast<float>(p.data[i] * decay - (lr * mHat) / (std::sqrt(vHat) + eps));
  }
  return env.Undefined();
}

}  // namespace

void InitAdamw(Napi::Env env, Napi::Object exports) { exportFn(env, exports, "adamw", Adamw); }

}  // namespace cola
