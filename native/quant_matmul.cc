// Products with a quantized frozen weight W [rows, cols] (issue 17), never materialized
// whole: tiles of W are dequantized into a thread-local f32 buffer that stays in cache
// and handed to the f32 GEMM (gemmF32, oneDNN), so the arithmetic runs at GEMM speed
// and dequantization costs one pass over the codes per product.
//   forward:   out [m, rows] (+)= x [m, cols] W^T   tiles: row bands of W, all columns
//   inputGrad: out [m, cols] (+)= x [m, rows] W     tiles: column bands, rows in chunks
// Layouts and rounding: src/backend/quant/format.ts and codec.ts; the reference
// backend (dequantize, then multiply) is the specification (conformance suite).
#include <omp.h>

#include <algorithm>

#include "common.h"

namespace cola {
namespace {

enum Format { kInt8 = 0, kNf4 = 1, kQ8_0 = 2, kQ4_0 = 3, kInt8g = 4 };

struct QuantView {
  Format format;
  int64_t rows, cols;
  int64_t block, blockBytes, blocksPerRow;
  const uint8_t* data;
  const float* scales;  // int8: per row; nf4 / int8g: per block; q8_0 / q4_0: none (inline f16)
  // nf4 with double-quantized scales (format.ts DoubleQuantScales): decoded once per
  // product into here (rows x blocksPerRow f32, ~1.6% of W's values), `scales` points at it
  std::vector<float> decodedScales;
};

constexpr int64_t kDoubleQuantGroup = 256;  // format.ts DOUBLE_QUANT_GROUP

// The Int8Array `field` of r (the double-quantized scale codes).
View<const int8_t> int8ArrayArg(const Record& r, const char* field) {
  Napi::Value v = r.object.Get(field);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int8_array)
    throw argError(r.env, std::string("quantMatmul: w.doubleQuant.") + field + " must be an Int8Array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  return {static_cast<const int8_t*>(typedArrayData(ta)), ta.ElementLength()};
}

// codec.ts blockScales: fround(fround(code * factor) + offset), in f32 as the codec rounds.
void decodeDoubleQuant(const Record& w, QuantView& q) {
  Record dq{w.env, w.object.Get("doubleQuant").As<Napi::Object>()};
  View<const int8_t> codes = int8ArrayArg(dq, "codes");
  View<float> factors = arrayArg<float>(dq, "factors");
  int64_t n = q.rows * q.blocksPerRow;
  requireLen(w.env, codes.size, n, "w.doubleQuant.codes");
  requireLen(w.env, factors.size, (n + kDoubleQuantGroup - 1) / kDoubleQuantGroup, "w.doubleQuant.factors");
  float offset = static_cast<float>(numArg(dq, "offset"));
  q.decodedScales.resize(static_cast<size_t>(n));
  float* out = q.decodedScales.data();
  for (int64_t i = 0; i < n; i++) {
    float scaled = static_cast<float>(codes.data[i]) * factors.data[i / kDoubleQuantGroup];
    out[i] = scaled + offset;
  }
  q.scales = out;
}

const float kNf4Levels[16] = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
                        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
                        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
                        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

// The two levels of each code byte, high nibble first (bitsandbytes' order).
struct Nf4Pairs {
  float v[256][2];
  Nf4Pairs() {
    for (int b = 0; b < 256; b++) {
      v[b][0] = kNf4Levels[b >> 4];
      v[b][1] = kNf4Levels[b & 15];
    }
  }
};
const Nf4Pairs kNf4Pairs;

// IEEE half -> f32, exact (subnormals included); GGUF's block scales are f16.
inline float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 0x1f) bits = sign | 0x7f800000u | (mant << 13);
  else bits = sign | ((exp + 112) << 23) | (mant << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Decodes block b of row r into out (view.block values; int8 handled by the caller).
inline void decodeBlock(const QuantView& w, int64_t r, int64_t b, float* out) {
  const uint8_t* p = w.data + (r * w.blocksPerRow + b) * w.blockBytes;
  switch (w.format) {
    case kQ8_0: {
      float d = halfToFloat(static_cast<uint16_t>(p[0] | (p[1] << 8)));
      const int8_t* q = reinterpret_cast<const int8_t*>(p + 2);
      for (int i = 0; i < 32; i++) out[i] = static_cast<float>(q[i]) * d;
      break;
    }
    case kQ4_0: {
      float d = halfToFloat(static_cast<uint16_t>(p[0] | (p[1] << 8)));
      for (int j = 0; j < 16; j++) {
        out[j] = static_cast<float>((p[2 + j] & 15) - 8) * d;
        out[16 + j] = static_cast<float>((p[2 + j] >> 4) - 8) * d;
      }
      break;
    }
    case kNf4: {
      // one lookup per byte (both levels), then a multiply GCC vectorizes
      float s = w.scales[r * w.blocksPerRow + b];
      for (int j = 0; j < 32; j++) std::memcpy(out + 2 * j, kNf4Pairs.v[p[j]], 2 * sizeof(float));
      for (int i = 0; i < 64; i++) out[i] *= s;
      break;
    }
    case kInt8:
    case kInt8g: break;
  }
}

// dequant(W)[r0 : r0 + nr, c0 : c1] into out (row stride ld). c0 is a multiple of the
// block for the block formats (the callers' tiles are).
void dequantTile(const QuantView& w, int64_t r0, int64_t nr, int64_t c0, int64_t c1, float* out, int64_t ld) {
  if (w.format == kInt8) {
    for (int64_t i = 0; i < nr; i++) {
      const int8_t* q = reinterpret_cast<const int8_t*>(w.data) + (r0 + i) * w.cols;
      float s = w.scales[r0 + i];
      float* o = out + i * ld;
      for (int64_t c = c0; c < c1; c++) o[c - c0] = static_cast<float>(q[c]) * s;
    }
    return;
  }
  if (w.format == kInt8g) {
    // llama2.c's groups (any size; tiles need not start on a group): q * s in f32, one
    // span per group met, a multiply GCC vectorizes
    for (int64_t i = 0; i < nr; i++) {
      const int8_t* q = reinterpret_cast<const int8_t*>(w.data) + (r0 + i) * w.blocksPerRow * w.block;
      const float* s = w.scales + (r0 + i) * w.blocksPerRow;
      float* o = out + i * ld - c0;
      for (int64_t c = c0; c < c1;) {
        int64_t b = c / w.block, end = std::min(c1, (b + 1) * w.block);
        float sb = s[b];
        for (int64_t k = c; k < end; k++) o[k] = static_cast<float>(q[k]) * sb;
        c = end;
      }
    }
    return;
  }
  alignas(64) float tmp[64];
  for (int64_t i = 0; i < nr; i++) {
    float* o = out + i * ld;
    for (int64_t b = c0 / w.block; b * w.block < c1; b++) {
      int64_t start = b * w.block, len = std::min(w.block, c1 - start);
      if (len == w.block) {
        decodeBlock(w, r0 + i, b, o + (start - c0));
      } else {
        decodeBlock(w, r0 + i, b, tmp);
        std::memcpy(o + (start - c0), tmp, static_cast<size_t>(len) * sizeof(float));
      }
    }
  }
}

// A thread's tile buffer, grown as needed and kept (tiles are small: <= ~1 MiB).
float* tileBuffer(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

QuantView quantViewOf(const Record& r) {
  Napi::Env env = r.env;
  Napi::Value wv = r.object.Get("w");
  if (!wv.IsObject()) throw argError(env, "quantMatmul: w must be a QuantWeight record");
  Record w{env, wv.As<Napi::Object>()};
  QuantView q{};
  q.format = static_cast<Format>(asEnum(arg(w, "format"), "w.format", {"int8", "nf4", "q8_0", "q4_0", "int8g"}));
  q.rows = sizeArg(w, "rows");
  q.cols = sizeArg(w, "cols");
  if (q.rows == 0 || q.cols == 0) throw argError(env, "quantMatmul: w.rows and w.cols must be positive");
  switch (q.format) {
    case kInt8: q.block = q.cols; q.blockBytes = q.cols; break;
    case kNf4: q.block = 64; q.blockBytes = 32; break;
    case kQ8_0: q.block = 32; q.blockBytes = 34; break;
    case kQ4_0: q.block = 32; q.blockBytes = 18; break;
    case kInt8g:
      q.block = sizeArg(w, "groupSize");  // format.ts checkGroupSize bounds it
      if (q.block < 1 || q.block > (1 << 20)) throw argError(env, "quantMatmul: w.groupSize must be in 1..1048576");
      q.blockBytes = q.block;
      break;
  }
  q.blocksPerRow = (q.cols + q.block - 1) / q.block;
  View<uint8_t> data = arrayArg<uint8_t>(w, "data");
  requireLen(env, data.size, q.rows * q.blocksPerRow * q.blockBytes, "w.data");
  q.data = data.data;
  Napi::Value dq = w.object.Get("doubleQuant");
  if (!dq.IsUndefined() && !dq.IsNull()) {
    if (q.format != kNf4 || !dq.IsObject()) throw argError(env, "quantMatmul: w.doubleQuant is for nf4 weights");
    decodeDoubleQuant(w, q);
  } else if (q.format == kInt8 || q.format == kNf4 || q.format == kInt8g) {
    View<float> scales = arrayArg<float>(w, "scales");
    requireLen(env, scales.size, q.format == kInt8 ? q.rows : q.rows * q.blocksPerRow, "w.scales");
    q.scales = scales.data;
  }
  return q;
}

int64_t roundUp(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

// Small weights (<= 1 Mi values): one dequantization, one threaded product.
constexpr int64_t kSmall = 1 << 20;
// Forward tiles: rows x depth (a multiple of 64: whole blocks of every format).
constexpr int64_t kBand = 128;
constexpr int64_t kDepth = 1024;

void forward(const QuantView& w, const float* x, float* out, int64_t m, float beta) {
  if (w.rows * w.cols <= kSmall) {
    float* buf = tileBuffer(static_cast<size_t>(w.rows * w.cols));
    dequantTile(w, 0, w.rows, 0, w.cols, buf, w.cols);
    gemmF32({m, w.rows, w.cols, false, true, w.cols, w.cols, w.rows, 1.0f, beta}, x, buf, out);
    return;
  }
  // Tiles of kBand rows x kDepth columns (512 KiB f32, in L2): each thread dequantizes
  // one and runs its own single-threaded product into its columns of out, summing over
  // the depth chunks. A tile of whole rows (the old layout) gave the GEMM an N of 16
  // rows at in = 8192 and re-read all of x for each: 1.5x the f32 time at OPT-1.3B's
  // fc2; 128 x 1024 keeps N and K large enough for GEMM speed (issue 17: >= 0.6x f32).
  int64_t bands = (w.rows + kBand - 1) / kBand;
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < bands; t++) {
    int64_t r0 = t * kBand, nr = std::min(kBand, w.rows - r0);
    float* buf = tileBuffer(static_cast<size_t>(nr * std::min(kDepth, w.cols)));
    for (int64_t c0 = 0; c0 < w.cols; c0 += kDepth) {
      int64_t nc = std::min(kDepth, w.cols - c0);
      dequantTile(w, r0, nr, c0, c0 + nc, buf, nc);
      gemmF32({m, nr, nc, false, true, w.cols, nc, w.rows, 1.0f, c0 == 0 ? beta : 1.0f}, x + c0, buf, out + r0);
    }
  }
}

void inputGrad(const QuantView& w, const float* g, float* out, int64_t m, float beta) {
  if (w.rows * w.cols <= kSmall) {
    float* buf = tileBuffer(static_cast<size_t>(w.rows * w.cols));
    dequantTile(w, 0, w.rows, 0, w.cols, buf, w.cols);
    gemmF32({m, w.cols, w.rows, false, false, w.rows, w.cols, w.cols, 1.0f, beta}, g, buf, out);
    return;
  }
  // Column bands (multiples of 64: whole blocks of every format), two per thread at
  // least; each thread owns its columns of out and sums over row chunks of 256.
  int64_t threads = omp_get_max_threads();
  int64_t width = std::clamp<int64_t>(roundUp((w.cols + 2 * threads - 1) / (2 * threads), 64), 64, 256);
  int64_t bands = (w.cols + width - 1) / width;
  constexpr int64_t kChunk = 256;
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < bands; t++) {
    int64_t c0 = t * width, nc = std::min(width, w.cols - c0);
    float* buf = tileBuffer(static_cast<size_t>(kChunk * nc));
    for (int64_t r0 = 0; r0 < w.rows; r0 += kChunk) {
      int64_t nr = std::min(kChunk, w.rows - r0);
      dequantTile(w, r0, nr, c0, c0 + nc, buf, nc);
      gemmF32({m, nc, nr, false, false, w.rows, nc, w.cols, 1.0f, r0 == 0 ? beta : 1.0f}, g + r0, buf, out + c0);
    }
  }
}

Napi::Value QuantMatmul(const Napi::CallbackInfo& info) {
  Record r = recordArg(info, "quantMatmul");
  Napi::Env env = info.Env();
  QuantView w = quantViewOf(r);
  View<float> x = arrayArg<float>(r, "x");
  View<float> out = arrayArg<float>(r, "out");
  int64_t m = sizeArg(r, "m");
  bool fwd = asEnum(arg(r, "mode"), "mode", {"forward", "inputGrad"}) == 0;
  double beta = numArg(r, "beta");
  if (beta != 0 && beta != 1) throw argError(env, "quantMatmul: beta must be 0 or 1");
  int64_t inF = fwd ? w.cols : w.rows, outF = fwd ? w.rows : w.cols;
  requireLen(env, x.size, m * inF, "x");
  requireLen(env, out.size, m * outF, "out");
  if (m == 0) return env.Undefined();
  if (fwd) forward(w, x.data, out.data, m, static_cast<float>(beta));
  else inputGrad(w, x.data, out.data, m, static_cast<float>(beta));
  return env.Undefined();
}

}  // namespace

void InitQuantMatmul(Napi::Env env, Napi::Object exports) { exportFn(env, exports, "quantMatmul", QuantMatmul); }

}  // namespace cola
