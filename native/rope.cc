// Rotary position embedding (Su et al. 2021, RoFormer) over x [B, T, H, D];
// `inverse` rotates by -angle, which is exactly the backward pass.
#include "common.h"

namespace cola {
namespace {

// rope(RopeArgs { x, out, positions, cos, sin, batch, seq, heads, headDim, rotaryDim, layout, inverse })
Napi::Value Rope(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "rope");
  Napi::Env env = info.Env();
  View<float> x = arrayArg<float>(r, "x"), out = arrayArg<float>(r, "out");
  View<int32_t> positions = arrayArg<int32_t>(r, "positions");
  View<float> cosT = arrayArg<float>(r, "cos"), sinT = arrayArg<float>(r, "sin");
  const int64_t B = sizeArg(r, "batch"), T = sizeArg(r, "seq"), H = sizeArg(r, "heads");
  const int64_t D = sizeArg(r, "headDim"), rot = sizeArg(r, "rotaryDim");
  const bool pairs = asEnum(arg(r, "layout"), "layout", {"halves", "pairs"}) == 1;
  const float sign = boolArg(r, "inverse") ? -1.0f : 1.0f;  // rotating by -angle undoes the rotation
  if (rot % 2 != 0 || rot > D) {
    throw Napi::RangeError::New(env, "rope: rotaryDim must be even and <= headDim (" + std::to_string(D) + "), got " +
                                         std::to_string(rot));
  }
  requireLen(env, x.size, B * T * H * D, "rope x");
  requireLen(env, out.size, B * T * H * D, "rope out");
  requireLen(env, positions.size, T, "rope positions");
  const int64_t half = rot / 2;
  for (int64_t t = 0; t < T; t++) {
    const int64_t row = positions.data[t];
    if (row < 0 || (row + 1) * half > static_cast<int64_t>(std::min(cosT.size, sinT.size))) {
      throw Napi::RangeError::New(env, "rope: position " + std::to_string(row) + " is outside the cos/sin tables");
    }
  }
  // Element i rotates with partner i + half ('halves') or 2i with 2i+1 ('pairs').
  const int64_t stride1 = pairs ? 2 : 1, offset2 = pairs ? 1 : half;
#pragma omp parallel for collapse(2) schedule(static) if (B * T * H * D > 32768)
  for (int64_t b = 0; b < B; b++) {
    for (int64_t t = 0; t < T; t++) {
      const float* c = cosT.data + positions.data[t] * half;
      const float* s = sinT.data + positions.data[t] * half;
      for (int64_t h = 0; h < H; h++) {
        const int64_t o = ((b * T + t) * H + h) * D;  // (b, t, h, :)
        const float* xr = x.data + o;
        float* yr = out.data + o;
#pragma omp simd
        for (int64_t i = 0; i < half; i++) {
          const int64_t i1 = i * stride1, i2 = i1 + offset2;
          const float x1 = xr[i1], x2 = xr[i2];  // read both before writing: out may alias x
          const float si = sign * s[i];
          yr[i1] = x1 * c[i] - x2 * si;
          yr[i2] = x2 * c[i] + x1 * si;
        }
        for (int64_t d = rot; d < D; d++) yr[d] = xr[d];  // pass-through tail
      }
    }
  }
  return env.Undefined();
}

}  // namespace

void InitRope(Napi::Env env, Napi::Object exports) { exportFn(env, exports, "rope", Rope); }

}  // namespace cola
