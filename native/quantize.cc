// Quantizing a dense f32 weight W [rows, cols] (issue 17): the same bytes as the
// TypeScript codec (src/backend/quant/codec.ts, the specification; the conformance
// suite compares them byte for byte), on all threads: rows are independent, so the
// OpenMP loop hands each thread whole rows. Rounding mirrors the codec step by step:
//   int8 / int8g / q8_0: d = absmax / 127 (f32), codes roundf(x * (1 / d)) (ties away from 0)
//   q4_0:        d = max / -8 (the signed extreme), codes min(15, trunc(x * (1 / d) + 8.5))
//   nf4:         x * (1 / absmax) in f64 against the f64 midpoints of the NF4 levels
// The block loops are plain arrays of floats that GCC vectorizes for AVX2 (-mavx2
// -mfma in binding.gyp). FP contraction is off for this file: GCC fuses x * id + 8.5
// into one FMA in C++ whatever -std says, and the fused rounding moved q4_0 codes
// whose x * id rounds onto a .5 tie (stories3M's q4_0 dev loss 6.4807 -> 6.4818,
// session 10; test/backend/conformanceQuant.test.ts "edge inputs"). NaN or infinity is
// refused with the codec's message.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"

// After the includes: only this file's functions (the codec's rounding, step by step).
#pragma GCC optimize("fp-contract=off")

namespace cola {
namespace {

enum Format { kInt8 = 0, kNf4 = 1, kQ8_0 = 2, kQ4_0 = 3, kInt8g = 4 };

// The codec's NF4_LEVELS (format.ts) as f64, and the midpoints it compares against
// (computed in f64 as the codec does: (L[q] + L[q + 1]) / 2).
const double kNf4Levels[16] = {-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                               -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                               0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
                               0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0};

struct Nf4Midpoints {
  double m[15];
  Nf4Midpoints() {
    for (int q = 0; q < 15; q++) m[q] = (kNf4Levels[q] + kNf4Levels[q + 1]) / 2;
  }
};
const Nf4Midpoints kMid;

// float -> IEEE half, round to nearest even: io/floatBits.ts floatToHalf bit for bit.
uint16_t floatToHalf(float v) {
  uint32_t x;
  std::memcpy(&x, &v, 4);
  uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu, mant = x & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  auto roundShift = [](uint32_t m, int shift) {
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    return (rem > half || (rem == half && (q & 1))) ? q + 1 : q;
  };
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    return static_cast<uint16_t>(sign | roundShift(mant | 0x800000u, 14 - e));
  }
  return static_cast<uint16_t>(sign | ((static_cast<uint32_t>(e) << 10) + roundShift(mant, 13)));
}

float absmax(const float* x, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; i++) m = std::max(m, std::fabs(x[i]));
  return m;
}

// int8 codes of x * id, ties away from zero (roundf is exact), clamped to ±127, NaN
// (0 * inf when 1 / d overflowed) to 0: the codec's int8Code.
void roundCodes(const float* x, int64_t n, float id, int8_t* out) {
  for (int64_t i = 0; i < n; i++) {
    float v = std::roundf(x[i] * id);
    out[i] = v != v ? 0 : static_cast<int8_t>(std::min(127.0f, std::max(-127.0f, v)));
  }
}

// The codec's q4Code: trunc(v) into [0, 15]; NaN is the zero code 8.
inline int q4Code(float v) {
  if (v != v) return 8;
  return static_cast<int>(std::min(15.0f, std::max(0.0f, std::trunc(v))));
}

void rowInt8(const float* x, int64_t cols, uint8_t* data, float* scale) {
  float d = absmax(x, cols) / 127.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  roundCodes(x, cols, id, reinterpret_cast<int8_t*>(data));
  *scale = d;
}

void blockQ8_0(const float* x, uint8_t* data) {
  float d = absmax(x, 32) / 127.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  uint16_t h = floatToHalf(d);
  data[0] = static_cast<uint8_t>(h & 0xff);
  data[1] = static_cast<uint8_t>(h >> 8);
  roundCodes(x, 32, id, reinterpret_cast<int8_t*>(data + 2));
}

void blockQ4_0(const float* x, uint8_t* data) {
  float amax = 0, max = 0;  // the signed value of largest magnitude, the first on ties
  for (int i = 0; i < 32; i++) {
    if (amax < std::fabs(x[i])) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  float d = max / -8.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  uint16_t h = floatToHalf(d);
  data[0] = static_cast<uint8_t>(h & 0xff);
  data[1] = static_cast<uint8_t>(h >> 8);
  for (int j = 0; j < 16; j++) {
    float v0 = x[j] * id, v1 = x[16 + j] * id;
    int q0 = q4Code(v0 + 8.5f), q1 = q4Code(v1 + 8.5f);
    data[2 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
  }
}

void blockNf4(const float* x, uint8_t* data, float* scale) {
  float amax = absmax(x, 64);
  double inv = amax != 0.0f ? 1.0 / static_cast<double>(amax) : 0.0;
  int32_t q[64];
  for (int i = 0; i < 64; i++) q[i] = 0;
  // The index of the nearest level = the number of midpoints below v (they increase).
  for (int k = 0; k < 15; k++) {
    double m = kMid.m[k];
    for (int i = 0; i < 64; i++) q[i] += static_cast<double>(x[i]) * inv > m ? 1 : 0;
  }
  for (int j = 0; j < 32; j++) data[j] = static_cast<uint8_t>((q[2 * j] << 4) | q[2 * j + 1]);
  *scale = amax;
}

std::string jsNumber(float v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}

Napi::Value QuantizeInto(const Napi::CallbackInfo& info) {
  Record r = recordArg(info, "quantizeInto");
  Napi::Env env = info.Env();
  Format format = static_cast<Format>(asEnum(arg(r, "format"), "format", {"int8", "nf4", "q8_0", "q4_0", "int8g"}));
  int64_t rows = sizeArg(r, "rows"), cols = sizeArg(r, "cols");
  if (rows == 0 || cols == 0) throw argError(env, "quantizeInto: rows and cols must be positive");
  View<float> values = arrayArg<float>(r, "values");
  requireLen(env, values.size, rows * cols, "values");
  int64_t block = 0, blockBytes = 0;
  switch (format) {
    case kInt8: block = cols; blockBytes = cols; break;
    case kNf4: block = 64; blockBytes = 32; break;
    case kQ8_0: block = 32; blockBytes = 34; break;
    case kQ4_0: block = 32; blockBytes = 18; break;
    case kInt8g:
      block = sizeArg(r, "groupSize");  // format.ts checkGroupSize bounds it
      if (block < 1 || block > (1 << 20)) throw argError(env, "quantizeInto: groupSize must be in 1..1048576");
      blockBytes = block;
      break;
  }
  int64_t nb = (cols + block - 1) / block;
  View<uint8_t> data = arrayArg<uint8_t>(r, "data");
  requireLen(env, data.size, rows * nb * blockBytes, "data");
  float* scales = nullptr;
  if (format == kInt8 || format == kNf4 || format == kInt8g) {
    View<float> s = arrayArg<float>(r, "scales");
    requireLen(env, s.size, format == kInt8 ? rows : rows * nb, "scales");
    scales = s.data;
  }
  const float* x = values.data;
  int64_t n = rows * cols;

  // The first non-finite value in row-major order (the codec names that one).
  int64_t bad = n;
#pragma omp parallel for reduction(min : bad) schedule(static)
  for (int64_t i = 0; i < n; i++)
    if (!std::isfinite(x[i]) && i < bad) bad = i;
  if (bad < n) {
    throw Napi::RangeError::New(env, "quantize: the value at row " + std::to_string(bad / cols) + ", column " +
                                         std::to_string(bad % cols) + " is " + jsNumber(x[bad]) +
                                         ": a weight with NaN or infinity cannot be quantized (the model file is damaged)");
  }

#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows; row++) {
    const float* xr = x + row * cols;
    uint8_t* dr = data.data + row * nb * blockBytes;
    if (format == kInt8) {
      rowInt8(xr, cols, dr, scales + row);
      continue;
    }
    if (format == kInt8g) {  // int8 per group; the last group zero-padded (codes 0)
      for (int64_t b = 0; b < nb; b++) {
        int64_t start = b * block, len = std::min(block, cols - start);
        rowInt8(xr + start, len, dr + start, scales + row * nb + b);
        std::fill(dr + start + len, dr + start + block, static_cast<uint8_t>(0));
      }
      continue;
    }
    alignas(64) float buf[64];
    for (int64_t b = 0; b < nb; b++) {
      int64_t start = b * block, len = std::min(block, cols - start);
      const float* src = xr + start;
      if (len < block) {  // the last block of the row, zero-padded as the codec pads it
        std::fill(buf, buf + block, 0.0f);
        std::memcpy(buf, src, static_cast<size_t>(len) * sizeof(float));
        src = buf;
      }
      uint8_t* at = dr + b * blockBytes;
      switch (format) {
        case kNf4: blockNf4(src, at, scales + row * nb + b); break;
        case kQ8_0: blockQ8_0(src, at); break;
        case kQ4_0: blockQ4_0(src, at); break;
        case kInt8:
        case kInt8g: break;
      }
    }
  }
  return env.Undefined();
}

}  // namespace

void InitQuantize(Napi::Env env, Napi::Object exports) { exportFn(env, exports, "quantizeInto", QuantizeInto); }

}  // namespace cola
