// Shared helpers for the cola native addon: argument checking (every pointer we
// hand to a kernel has been length-checked here first) and bf16 bit conversions.
#pragma once

#include <napi.h>

#include "signals.h"

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace cola {

// A typed-array view: data pointer and element count.
template <typename T>
struct View {
  T* data = nullptr;
  size_t size = 0;
};

// A float operand that may be f32 (Float32Array) or bf16 (Uint16Array).
struct FloatView {
  const void* data = nullptr;
  size_t size = 0;
  bool bf16 = false;
};

inline Napi::Error argError(Napi::Env env, const std::string& what) {
  return Napi::TypeError::New(env, "cola_native: " + what);
}

template <typename T>
constexpr napi_typedarray_type typedArrayTypeOf();
template <>
constexpr napi_typedarray_type typedArrayTypeOf<float>() { return napi_float32_array; }
template <>
constexpr napi_typedarray_type typedArrayTypeOf<uint16_t>() { return napi_uint16_array; }
template <>
constexpr napi_typedarray_type typedArrayTypeOf<int32_t>() { return napi_int32_array; }
template <>
constexpr napi_typedarray_type typedArrayTypeOf<uint8_t>() { return napi_uint8_array; }

inline const char* typedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint8_array: return "Uint8Array";
    default: return "another typed array";
  }
}

inline void* typedArrayData(const Napi::TypedArray& ta) {
  return static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
}

// Arguments arrive either positionally (primitives of up to 4 arguments) or as
// one record whose fields are named as in src/backend/backend.ts (the XxxArgs
// interfaces). Every reader below takes the value itself; `arg(info, i)` and
// `arg(record, "field")` fetch it from either place.
struct Arg {
  Napi::Env env;
  Napi::Value value;
};

inline Arg arg(const Napi::CallbackInfo& info, size_t i) { return Arg{info.Env(), info[i]}; }

// The single argument of a primitive that takes a record.
struct Record {
  Napi::Env env;
  Napi::Object object;
};

inline Record recordArg(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw argError(info.Env(), std::string(fn) + " expects one argument record (see src/backend/backend.ts)");
  }
  return Record{info.Env(), info[0].As<Napi::Object>()};
}

inline Arg arg(const Record& r, const char* field) { return Arg{r.env, r.object.Get(field)}; }

// A typed array of element type T; throws a JS TypeError otherwise.
template <typename T>
View<T> asArray(const Arg& a, const char* name) {
  if (!a.value.IsTypedArray()) throw argError(a.env, std::string(name) + " must be a typed array");
  Napi::TypedArray ta = a.value.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != typedArrayTypeOf<T>()) {
    throw argError(a.env, std::string(name) + " must be a " + typedArrayName(typedArrayTypeOf<T>()) + ", got " +
                              typedArrayName(ta.TypedArrayType()));
  }
  return View<T>{static_cast<T*>(typedArrayData(ta)), ta.ElementLength()};
}

inline bool isAbsent(const Arg& a) { return a.value.IsNull() || a.value.IsUndefined(); }

// Optional array: null/undefined gives an empty view with data == nullptr.
template <typename T>
View<T> asOptArray(const Arg& a, const char* name) {
  if (isAbsent(a)) return View<T>{};
  return asArray<T>(a, name);
}

inline FloatView asFloatArray(const Arg& a, const char* name, bool optional = false) {
  if (optional && isAbsent(a)) return FloatView{};
  if (!a.value.IsTypedArray()) throw argError(a.env, std::string(name) + " must be a Float32Array or Uint16Array");
  Napi::TypedArray ta = a.value.As<Napi::TypedArray>();
  if (ta.TypedArrayType() == napi_float32_array) return FloatView{typedArrayData(ta), ta.ElementLength(), false};
  if (ta.TypedArrayType() == napi_uint16_array) return FloatView{typedArrayData(ta), ta.ElementLength(), true};
  throw argError(a.env, std::string(name) + " must be a Float32Array (f32) or Uint16Array (bf16), got " +
                            typedArrayName(ta.TypedArrayType()));
}

inline double asNumber(const Arg& a, const char* name) {
  if (!a.value.IsNumber()) throw argError(a.env, std::string(name) + " must be a number");
  return a.value.As<Napi::Number>().DoubleValue();
}

// A non-negative integer size; rejects fractions, negatives and absurd values.
inline int64_t asSize(const Arg& a, const char* name) {
  double d = asNumber(a, name);
  if (!(d >= 0) || d != std::floor(d) || d > 9.0e15) {
    throw argError(a.env, std::string(name) + " must be a non-negative integer, got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

inline int64_t asInt(const Arg& a, const char* name) {
  double d = asNumber(a, name);
  if (d != std::floor(d) || std::fabs(d) > 9.0e15) {
    throw argError(a.env, std::string(name) + " must be an integer, got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

inline bool asBool(const Arg& a, const char* name) {
  if (!a.value.IsBoolean()) throw argError(a.env, std::string(name) + " must be a boolean");
  return a.value.As<Napi::Boolean>().Value();
}

// One of the strings of a string-union type (an op name, a layout), as its index
// in `names`; `fallback` when absent and fallback >= 0.
inline int asEnum(const Arg& a, const char* name, std::initializer_list<const char*> names, int fallback = -1) {
  if (fallback >= 0 && isAbsent(a)) return fallback;
  std::string allowed;
  if (a.value.IsString()) {
    std::string v = a.value.As<Napi::String>().Utf8Value();
    int i = 0;
    for (const char* n : names) {
      if (v == n) return i;
      i++;
    }
  }
  for (const char* n : names) allowed += std::string(allowed.empty() ? "" : ", ") + n;
  throw argError(a.env, std::string(name) + " must be one of " + allowed);
}

// An array of integers (strides, shapes); JS arrays or Int32Array both accepted.
inline std::vector<int64_t> asIntList(const Arg& a, const char* name) {
  std::vector<int64_t> out;
  if (a.value.IsTypedArray() && a.value.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    View<int32_t> v = asArray<int32_t>(a, name);
    out.assign(v.data, v.data + v.size);
    return out;
  }
  if (!a.value.IsArray()) throw argError(a.env, std::string(name) + " must be an array of integers");
  Napi::Array arr = a.value.As<Napi::Array>();
  out.resize(arr.Length());
  for (uint32_t j = 0; j < arr.Length(); j++) {
    Napi::Value e = arr.Get(j);
    if (!e.IsNumber()) throw argError(a.env, std::string(name) + " must contain only numbers");
    double d = e.As<Napi::Number>().DoubleValue();
    if (d != std::floor(d) || std::fabs(d) > 9.0e15) throw argError(a.env, std::string(name) + " must contain integers");
    out[j] = static_cast<int64_t>(d);
  }
  return out;
}

// The readers by place: (info, i, name) for a positional argument, (record, "field").
template <typename T>
View<T> arrayArg(const Napi::CallbackInfo& info, size_t i, const char* name) { return asArray<T>(arg(info, i), name); }
template <typename T>
View<T> arrayArg(const Record& r, const char* field) { return asArray<T>(arg(r, field), field); }
template <typename T>
View<T> optArrayArg(const Record& r, const char* field) { return asOptArray<T>(arg(r, field), field); }
inline FloatView floatArg(const Napi::CallbackInfo& info, size_t i, const char* name) { return asFloatArray(arg(info, i), name); }
inline FloatView floatArg(const Record& r, const char* field, bool optional = false) {
  return asFloatArray(arg(r, field), field, optional);
}
inline double numArg(const Napi::CallbackInfo& info, size_t i, const char* name) { return asNumber(arg(info, i), name); }
inline double numArg(const Record& r, const char* field) { return asNumber(arg(r, field), field); }
inline int64_t sizeArg(const Napi::CallbackInfo& info, size_t i, const char* name) { return asSize(arg(info, i), name); }
inline int64_t sizeArg(const Record& r, const char* field) { return asSize(arg(r, field), field); }
inline int64_t intArg(const Record& r, const char* field) { return asInt(arg(r, field), field); }
inline bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name) { return asBool(arg(info, i), name); }
inline bool boolArg(const Record& r, const char* field) { return asBool(arg(r, field), field); }
inline std::vector<int64_t> intListArg(const Record& r, const char* field) { return asIntList(arg(r, field), field); }

// Throws unless `have` >= `need` elements: the single guard against reading or
// writing past the end of a JS buffer.
inline void requireLen(Napi::Env env, size_t have, int64_t need, const char* name) {
  if (need < 0 || static_cast<uint64_t>(have) < static_cast<uint64_t>(need)) {
    throw argError(env, std::string(name) + " has " + std::to_string(have) + " elements, needs at least " +
                            std::to_string(need));
  }
}

inline void requireArgs(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() < n) {
    throw argError(info.Env(), std::string(fn) + " expects " + std::to_string(n) + " arguments, got " +
                                   std::to_string(info.Length()));
  }
}

// --- bf16 ---------------------------------------------------------------------
inline float bf16ToF32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round-to-nearest-even; NaN stays NaN (quiet bit forced so truncation cannot
// turn a NaN with only low mantissa bits into infinity).
inline uint16_t f32ToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

// Reads element i of a weight that may be f32 or bf16.
inline float loadFloat(const FloatView& w, size_t i) {
  return w.bf16 ? bf16ToF32(static_cast<const uint16_t*>(w.data)[i]) : static_cast<const float*>(w.data)[i];
}

// Converts a whole f32 buffer to bf16 (shared by castToBf16 and matmul).
void convertF32ToBf16(const float* src, uint16_t* dst, int64_t n);
void convertBf16ToF32(const uint16_t* src, float* dst, int64_t n);

// C = alpha * op(A) op(B) + beta * C in f32 on oneDNN (matmul.cc), each matrix
// with its own row stride (lda, ldb: of A and B as stored; ldc of C), for kernels
// that chain products (attention). Safe to call from inside an OpenMP parallel
// region, where it runs single-threaded on the calling thread.
struct Gemm {
  int64_t m, n, k;
  bool transA, transB;
  int64_t lda, ldb, ldc;
  float alpha, beta;
};
// Whether oneDNN builds bf16 products on this CPU (matmul.cc).
bool bf16MatmulNative();

void gemmF32(const Gemm& g, const float* a, const float* b, float* c);

// gemmF32 always on the calling thread, for one task of a parallel loop (attention's
// query blocks): on AVX2 CPUs cola's own kernel (gemm.h), where oneDNN's primitive
// paid a fixed cost per call that blocks of 64 queries x keys x 64 felt; elsewhere
// gemmF32. The same bits whatever the team's size.
void gemmTaskF32(const Gemm& g, const float* a, const float* b, float* c);

// The size (elements) below which an elementwise, norm or softmax kernel runs on
// one thread: `fallback`, the family's own, unless COLA_PARALLEL_MIN is set (read
// once as the addon loads). Under load, threading a tiny op costs far more than it
// saves (issue 15): a woken or spinning pool for ~10 us of work.
inline int64_t parallelMinElements(int64_t fallback) {
  const char* env = std::getenv("COLA_PARALLEL_MIN");
  if (env == nullptr || *env == '\0') return fallback;
  char* end = nullptr;
  long long v = std::strtoll(env, &end, 10);
  return (end != nullptr && *end == '\0' && v >= 0) ? static_cast<int64_t>(v) : fallback;
}

// A 64-byte aligned heap block (oneDNN's bf16 path is up to 2x slower unaligned).
void* alignedAlloc(size_t bytes);
void alignedFree(void* p);

// Registers `fn` as exports[name]; any C++ exception (oneDNN's dnnl::error,
// std::bad_alloc) becomes a JS Error instead of terminating the process. The call
// runs with asynchronous signals held (signals.h: oneDNN's kernels and signals).
template <typename Fn>
void exportFn(Napi::Env env, Napi::Object exports, const char* name, Fn fn) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [fn, name](const Napi::CallbackInfo& info) -> Napi::Value {
                          SignalsHeld held;
                          try {
                            return fn(info);
                          } catch (const Napi::Error&) {
                            throw;
                          } catch (const std::exception& e) {
                            throw Napi::Error::New(info.Env(), std::string("cola_native.") + name + ": " + e.what());
                          }
                        },
                        name));
}

// Registration hooks, one per source file.
void InitAlloc(Napi::Env env, Napi::Object exports);
void InitConvert(Napi::Env env, Napi::Object exports);
void InitCopy(Napi::Env env, Napi::Object exports);
void InitMatmul(Napi::Env env, Napi::Object exports);
void InitQuantMatmul(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitSoftmax(Napi::Env env, Napi::Object exports);
void InitNorm(Napi::Env env, Napi::Object exports);
void InitRope(Napi::Env env, Napi::Object exports);
void InitAttention(Napi::Env env, Napi::Object exports);
void InitEmbedding(Napi::Env env, Napi::Object exports);
void InitCrossEntropy(Napi::Env env, Napi::Object exports);
void InitAdamw(Napi::Env env, Napi::Object exports);
void InitCpu(Napi::Env env, Napi::Object exports);

}  // namespace cola
