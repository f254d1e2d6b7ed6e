// f32 <-> bf16 conversions (7-8 ms in JS for a 2048x768 activation, as long as
// the matmul itself: performance.md).
#include "common.h"

namespace cola {

void convertF32ToBf16(const float* src, uint16_t* dst, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) dst[i] = f32ToBf16(src[i]);
}

void convertBf16ToF32(const uint16_t* src, float* dst, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) dst[i] = bf16ToF32(src[i]);
}

namespace {

Napi::Value CastToBf16(const Napi::CallbackInfo& info) {
  requireArgs(info, 2, "castToBf16");
  auto src = arrayArg<float>(info, 0, "src");
  auto dst = arrayArg<uint16_t>(info, 1, "dst");
  requireLen(info.Env(), dst.size, static_cast<int64_t>(src.size), "dst");
  convertF32ToBf16(src.data, dst.data, static_cast<int64_t>(src.size));
  return info.Env().Undefined();
}

Napi::Value CastToF32(const Napi::CallbackInfo& info) {
  requireArgs(info, 2, "castToF32");
  auto src = arrayArg<uint16_t>(info, 0, "src");
  auto dst = arrayArg<float>(info, 1, "dst");
  requireLen(info.Env(), dst.size, static_cast<int64_t>(src.size), "dst");
  convertBf16ToF32(src.data, dst.data, static_cast<int64_t>(src.size));
  return info.Env().Undefined();
}

}  // namespace

void InitConvert(Napi::Env env, Napi::Object exports) {
  exportFn(env, exports, "castToBf16", CastToBf16);
  exportFn(env, exports, "castToF32", CastToF32);
}

}  // namespace cola
