// RMSNorm and LayerNorm over rows of x [rows, cols] with backward passes. Weights
// and biases may be bf16 (frozen base weights); their gradients are f32. Rows run
// in parallel; weight gradients are summed per thread in f64, then combined.
#include <omp.h>

#include <cmath>

#include "common.h"

namespace cola {
namespace {

// Elements below which this family runs on one thread (waking the pool costs more
// than the work); COLA_PARALLEL_MIN overrides it for measurement (bench/threadsUnderLoad.sh).
const int64_t kParallelMin = parallelMinElements(16384);

// A weight or bias as f32 values (bf16 decoded), or `absent` everywhere when null.
std::vector<float> columnValues(const FloatView& w, int64_t cols, float absent) {
  std::vector<float> out(static_cast<size_t>(cols), absent);
  if (w.data) {
    for (int64_t j = 0; j < cols; j++) out[j] = loadFloat(w, static_cast<size_t>(j));
  }
  return out;
}

FloatView optWeight(const Record& r, const char* name, int64_t cols) {
  FloatView w = floatArg(r, name, true);
  if (w.data) requireLen(r.env, w.size, cols, name);
  return w;
}

// Per-thread f64 partial sums of column gradients, reduced into `dst` at the end.
struct ColumnPartials {
  int64_t cols;
  std::vector<double> sums;
  ColumnPartials(int64_t c, int count) : cols(c), sums(static_cast<size_t>(c) * count * omp_get_max_threads(), 0.0) {}
  double* forThread(int which) { return sums.data() + static_cast<size_t>(omp_get_thread_num() * 2 + which) * cols; }
  // Which: 0 or 1 (weight or bias); stores (+)= the sum over threads.
  void store(float* dst, int which, bool accumulate) const {
    for (int64_t j = 0; j < cols; j++) {
      double s = 0.0;
      for (int t = 0; t < omp_get_max_threads(); t++) s += sums[static_cast<size_t>(t * 2 + which) * cols + j];
      dst[j] = accumulate ? static_cast<float>(dst[j] + s) : static_cast<float>(s);
    }
  }
};

// rmsNorm(RmsNormArgs { x, weight|null, out, rstd, rows, cols, eps })
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "rmsNorm");
  Napi::Env env = info.Env();
  View<float> x = arrayArg<float>(r, "x");
  const int64_t rows = sizeArg(r, "rows"), cols = sizeArg(r, "cols");
  FloatView wv = optWeight(r, "weight", cols);
  View<float> out = arrayArg<float>(r, "out"), rstd = arrayArg<float>(r, "rstd");
  const double eps = numArg(r, "eps");
  requireLen(env, x.size, rows * cols, "rmsNorm x");
  requireLen(env, out.size, rows * cols, "rmsNorm out");
  requireLen(env, rstd.size, rows, "rmsNorm rstd");
  const std::vector<float> w = columnValues(wv, cols, 1.0f);
  const float* wp = w.data();
#pragma omp parallel for schedule(static) if (rows * cols > kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x.data + r * cols;
    float* o = out.data + r * cols;
    double sumSq = 0.0;
#pragma omp simd reduction(+ : sumSq)
    for (int64_t j = 0; j < cols; j++) sumSq += static_cast<double>(xr[j]) * xr[j];
    const float s = static_cast<float>(1.0 / std::sqrt(sumSq / cols + eps));
    rstd.data[r] = s;
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) o[j] = xr[j] * s * wp[j];
  }
  return env.Undefined();
}

// rmsNormBackward(RmsNormBackwardArgs { x, weight|null, rstd, dy, dx|null, dWeight|null, rows, cols, accumulate })
// dx_j = s w_j dy_j - (s^3 / cols) x_j Σ_i dy_i w_i x_i;  dW_j += Σ_rows dy_j x_j s
Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "rmsNormBackward");
  Napi::Env env = info.Env();
  const int64_t rows = sizeArg(r, "rows"), cols = sizeArg(r, "cols");
  const bool acc = boolArg(r, "accumulate");
  View<float> x = arrayArg<float>(r, "x");
  FloatView wv = optWeight(r, "weight", cols);
  View<float> rstd = arrayArg<float>(r, "rstd"), dy = arrayArg<float>(r, "dy");
  View<float> dx = optArrayArg<float>(r, "dx"), dW = optArrayArg<float>(r, "dWeight");
  requireLen(env, x.size, rows * cols, "rmsNormBackward x");
  requireLen(env, dy.size, rows * cols, "rmsNormBackward dy");
  requireLen(env, rstd.size, rows, "rmsNormBackward rstd");
  if (dx.data) requireLen(env, dx.size, rows * cols, "rmsNormBackward dx");
  if (dW.data) requireLen(env, dW.size, cols, "rmsNormBackward dWeight");
  const std::vector<float> w = columnValues(wv, cols, 1.0f);
  const float* wp = w.data();
  ColumnPartials partials(cols, 2);
#pragma omp parallel if (rows * cols > kParallelMin)
  {
    double* pw = partials.forThread(0);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* xr = x.data + r * cols;
      const float* g = dy.data + r * cols;
      const float s = rstd.data[r];
      if (dx.data) {
        double dot = 0.0;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < cols; j++) dot += static_cast<double>(g[j]) * wp[j] * xr[j];
        const float c = static_cast<float>(static_cast<double>(s) * s * s / cols * dot);
        float* d = dx.data + r * cols;
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) d[j] = (acc ? d[j] : 0.0f) + (s * wp[j] * g[j] - c * xr[j]);
      }
      if (dW.data) {
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) pw[j] += static_cast<double>(g[j] * xr[j] * s);
      }
    }
  }
  if (dW.data) partials.store(dW.data, 0, acc);
  return env.Undefined();
}

// layerNorm(LayerNormArgs { x, weight|null, bias|null, out, mean, rstd, rows, cols, eps })
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "layerNorm");
  Napi::Env env = info.Env();
  const int64_t rows = sizeArg(r, "rows"), cols = sizeArg(r, "cols");
  View<float> x = arrayArg<float>(r, "x");
  FloatView wv = optWeight(r, "weight", cols), bv = optWeight(r, "bias", cols);
  View<float> out = arrayArg<float>(r, "out"), mean = arrayArg<float>(r, "mean");
  View<float> rstd = arrayArg<float>(r, "rstd");
  const double eps = numArg(r, "eps");
  requireLen(env, x.size, rows * cols, "layerNorm x");
  requireLen(env, out.size, rows * cols, "layerNorm out");
  requireLen(env, mean.size, rows, "layerNorm mean");
  requireLen(env, rstd.size, rows, "layerNorm rstd");
  const std::vector<float> w = columnValues(wv, cols, 1.0f), b = columnValues(bv, cols, 0.0f);
  const float *wp = w.data(), *bp = b.data();
#pragma omp parallel for schedule(static) if (rows * cols > kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x.data + r * cols;
    float* o = out.data + r * cols;
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < cols; j++) sum += xr[j];
    const double mu = sum / cols;
    double sumSq = 0.0;  // two passes: no cancellation for rows with a large mean
#pragma omp simd reduction(+ : sumSq)
    for (int64_t j = 0; j < cols; j++) sumSq += (xr[j] - mu) * (xr[j] - mu);
    const float s = static_cast<float>(1.0 / std::sqrt(sumSq / cols + eps));  // biased variance, as PyTorch
    const float m = static_cast<float>(mu);
    mean.data[r] = m;
    rstd.data[r] = s;
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) o[j] = (xr[j] - m) * s * wp[j] + bp[j];
  }
  return env.Undefined();
}

// layerNormBackward(LayerNormBackwardArgs { x, weight|null, mean, rstd, dy, dx|null, dWeight|null, dBias|null,
//                                          rows, cols, accumulate })
// With xhat = (x - mean) s and g = dy w: dx = s (g - mean(g) - xhat mean(g xhat)).
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "layerNormBackward");
  Napi::Env env = info.Env();
  const int64_t rows = sizeArg(r, "rows"), cols = sizeArg(r, "cols");
  const bool acc = boolArg(r, "accumulate");
  View<float> x = arrayArg<float>(r, "x");
  FloatView wv = optWeight(r, "weight", cols);
  View<float> mean = arrayArg<float>(r, "mean"), rstd = arrayArg<float>(r, "rstd");
  View<float> dy = arrayArg<float>(r, "dy");
  View<float> dx = optArrayArg<float>(r, "dx"), dW = optArrayArg<float>(r, "dWeight");
  View<float> dB = optArrayArg<float>(r, "dBias");
  requireLen(env, x.size, rows * cols, "layerNormBackward x");
  requireLen(env, dy.size, rows * cols, "layerNormBackward dy");
  requireLen(env, mean.size, rows, "layerNormBackward mean");
  requireLen(env, rstd.size, rows, "layerNormBackward rstd");
  if (dx.data) requireLen(env, dx.size, rows * cols, "layerNormBackward dx");
  if (dW.data) requireLen(env, dW.size, cols, "layerNormBackward dWeight");
  if (dB.data) requireLen(env, dB.size, cols, "layerNormBackward dBias");
  const std::vector<float> w = columnValues(wv, cols, 1.0f);
  const float* wp = w.data();
  ColumnPartials partials(cols, 2);
#pragma omp parallel if (rows * cols > kParallelMin)
  {
    double* pw = partials.forThread(0);
    double* pb = partials.forThread(1);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* xr = x.data + r * cols;
      const float* g = dy.data + r * cols;
      const float s = rstd.data[r], mu = mean.data[r];
      if (dx.data) {
        double sumG = 0.0, sumGX = 0.0;
#pragma omp simd reduction(+ : sumG, sumGX)
        for (int64_t j = 0; j < cols; j++) {
          const float gw = g[j] * wp[j];
          sumG += gw;
          sumGX += static_cast<double>(gw) * ((xr[j] - mu) * s);
        }
        const float meanG = static_cast<float>(sumG / cols), meanGX = static_cast<float>(sumGX / cols);
        float* d = dx.data + r * cols;
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) {
          d[j] = (acc ? d[j] : 0.0f) + s * (g[j] * wp[j] - meanG - (xr[j] - mu) * s * meanGX);
        }
      }
      if (dW.data || dB.data) {
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) {
          pw[j] += static_cast<double>(g[j] * ((xr[j] - mu) * s));
          pb[j] += g[j];
        }
      }
    }
  }
  if (dW.data) partials.store(dW.data, 0, acc);
  if (dB.data) partials.store(dB.data, 1, acc);
  return env.Undefined();
}

}  // namespace

void InitNorm(Napi::Env env, Napi::Object exports) {
  exportFn(env, exports, "rmsNorm", RmsNorm);
  exportFn(env, exports, "rmsNormBackward", RmsNormBackward);
  exportFn(env, exports, "layerNorm", LayerNorm);
  exportFn(env, exports, "layerNormBackward", LayerNormBackward);
}

}  // namespace cola
