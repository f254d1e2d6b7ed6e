// copyStrided (transpose, slice, concat, broadcast) and fill.
#include "strided.h"

namespace cola {
namespace {

// Any storage kind: the element type decides the copy loop.
struct AnyView {
  void* data;
  size_t size;
  napi_typedarray_type type;
};

AnyView anyArrayArg(const Record& r, const char* name) {
  Arg a = arg(r, name);
  if (!a.value.IsTypedArray()) throw argError(r.env, std::string(name) + " must be a typed array");
  Napi::TypedArray ta = a.value.As<Napi::TypedArray>();
  auto t = ta.TypedArrayType();
  if (t != napi_float32_array && t != napi_uint16_array && t != napi_int32_array) {
    throw argError(r.env, std::string(name) + " must be a Float32Array, Uint16Array or Int32Array");
  }
  return AnyView{typedArrayData(ta), ta.ElementLength(), t};
}

template <typename T>
void copyRows(const StridedSpace<2>& s, const T* src, int64_t srcOffset, T* dst, int64_t dstOffset, bool accumulate,
              bool serial) {
  forEachRow<2>(s, {srcOffset, dstOffset}, serial, [&](const std::array<int64_t, 2>& off, int64_t n,
                                                         const std::array<int64_t, 2>& st) {
    const T* a = src + off[0];
    T* b = dst + off[1];
    const int64_t sa = st[0], sb = st[1];
    if (accumulate) {
      for (int64_t i = 0; i < n; i++) b[i * sb] += a[i * sa];
    } else if (sa == 1 && sb == 1) {
      std::memcpy(b, a, static_cast<size_t>(n) * sizeof(T));
    } else {
      for (int64_t i = 0; i < n; i++) b[i * sb] = a[i * sa];
    }
  });
}

// copyStrided(CopyStridedArgs { src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape, accumulate })
Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "copyStrided");
  Napi::Env env = info.Env();
  AnyView src = anyArrayArg(r, "src");
  int64_t srcOffset = intArg(r, "srcOffset");
  std::vector<int64_t> srcStrides = intListArg(r, "srcStrides");
  AnyView dst = anyArrayArg(r, "dst");
  int64_t dstOffset = intArg(r, "dstOffset");
  std::vector<int64_t> dstStrides = intListArg(r, "dstStrides");
  std::vector<int64_t> shape = intListArg(r, "shape");
  bool accumulate = boolArg(r, "accumulate");
  if (src.type != dst.type) throw argError(env, "copyStrided: src and dst must be the same kind of typed array");
  if (accumulate && src.type == napi_uint16_array) {
    throw argError(env, "copyStrided: accumulate is not defined for bf16 storage; accumulate in f32 and cast");
  }
  if (srcStrides.size() != shape.size() || dstStrides.size() != shape.size()) {
    throw argError(env, "copyStrided: srcStrides and dstStrides must have one entry per dim of shape");
  }
  for (int64_t d : shape) {
    if (d < 0) throw argError(env, "copyStrided: shape must not have negative extents");
    if (d == 0) return env.Undefined();
  }
  requireInBounds(env, shape, srcStrides, srcOffset, src.size, "copyStrided src");
  requireInBounds(env, shape, dstStrides, dstOffset, dst.size, "copyStrided dst");
  StridedSpace<2> s = simplify<2>(shape, {srcStrides, dstStrides});
  // A zero dst stride writes one element many times: keep the reference's order.
  bool serial = std::find(s.strides[1].begin(), s.strides[1].end(), 0) != s.strides[1].end();
  switch (src.type) {
    case napi_float32_array:
      copyRows(s, static_cast<const float*>(src.data), srcOffset, static_cast<float*>(dst.data), dstOffset, accumulate,
               serial);
      break;
    case napi_uint16_array:
      copyRows(s, static_cast<const uint16_t*>(src.data), srcOffset, static_cast<uint16_t*>(dst.data), dstOffset,
               false, serial);
      break;
    default:
      copyRows(s, static_cast<const int32_t*>(src.data), srcOffset, static_cast<int32_t*>(dst.data), dstOffset,
               accumulate, serial);
  }
  return env.Undefined();
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  requireArgs(info, 2, "fill");
  View<float> x = arrayArg<float>(info, 0, "x");
  const float value = static_cast<float>(numArg(info, 1, "value"));
  const int64_t n = static_cast<int64_t>(x.size);
#pragma omp parallel for simd schedule(static) if (n > 262144)
  for (int64_t i = 0; i < n; i++) x.data[i] = value;
  return info.Env().Undefined();
}

}  // namespace

void InitCopy(Napi::Env env, Napi::Object exports) {
  exportFn(env, exports, "copyStrided", CopyStrided);
  exportFn(env, exports, "fill", Fill);
}

}  // namespace cola
