// Row-wise softmax and log-softmax over x [rows, cols], with backward passes.
// One row per OpenMP iteration; sums accumulate in f64 like the reference.
#include <cmath>

#include "common.h"
#include "vmath.h"

namespace cola {

// Stable log Σ exp of one row; -inf for an all -inf (fully masked) row.
double rowLogSumExp(const float* x, int64_t cols) {
  const float max = rowMax(x, cols);
  if (max == -INFINITY) return -INFINITY;
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < cols; j++) sum += expF(x[j] - max);
  return static_cast<double>(max) + std::log(sum);
}

namespace {

// Elements below which this family runs on one thread (waking the pool costs more
// than the work); COLA_PARALLEL_MIN overrides it for measurement (bench/threadsUnderLoad.sh).
const int64_t kParallelMin = parallelMinElements(16384);

struct RowArgs {
  View<float> a, b, c;
  int64_t rows, cols;
};

// SoftmaxBackwardArgs (backend.ts): y, dy, dx all at least rows * cols long.
RowArgs rowArgs(const Record& rec, const char* fn) {
  RowArgs r{arrayArg<float>(rec, "y"), arrayArg<float>(rec, "dy"), arrayArg<float>(rec, "dx"), sizeArg(rec, "rows"),
            sizeArg(rec, "cols")};
  const int64_t n = r.rows * r.cols;
  requireLen(rec.env, r.a.size, n, fn);
  requireLen(rec.env, r.b.size, n, fn);
  requireLen(rec.env, r.c.size, n, fn);
  return r;
}

// softmax(x, out, rows, cols)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  requireArgs(info, 4, "softmax");
  View<float> x = arrayArg<float>(info, 0, "x"), out = arrayArg<float>(info, 1, "out");
  const int64_t rows = sizeArg(info, 2, "rows"), cols = sizeArg(info, 3, "cols");
  requireLen(info.Env(), x.size, rows * cols, "softmax x");
  requireLen(info.Env(), out.size, rows * cols, "softmax out");
#pragma omp parallel for schedule(static) if (rows * cols > kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x.data + r * cols;
    float* o = out.data + r * cols;
    const float lse = static_cast<float>(rowLogSumExp(xr, cols));
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) o[j] = expF(xr[j] - lse);
  }
  return info.Env().Undefined();
}

// logSoftmax(x, out, rows, cols)
Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  requireArgs(info, 4, "logSoftmax");
  View<float> x = arrayArg<float>(info, 0, "x"), out = arrayArg<float>(info, 1, "out");
  const int64_t rows = sizeArg(info, 2, "rows"), cols = sizeArg(info, 3, "cols");
  requireLen(info.Env(), x.size, rows * cols, "logSoftmax x");
  requireLen(info.Env(), out.size, rows * cols, "logSoftmax out");
#pragma omp parallel for schedule(static) if (rows * cols > kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x.data + r * cols;
    float* o = out.data + r * cols;
    const double lse = rowLogSumExp(xr, cols);
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) o[j] = static_cast<float>(xr[j] - lse);
  }
  return info.Env().Undefined();
}

// softmaxBackward(SoftmaxBackwardArgs { y, dy, dx, rows, cols, accumulate }): dx (+)= y (dy - Σ dy y)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
    const Record rec = recordArg(info, "softmaxBackward");
  RowArgs a = rowArgs(rec, "softmaxBackward");
  const bool acc = boolArg(rec, "accumulate");
  const int64_t cols = a.cols;
#pragma omp parallel for schedule(static) if (a.rows * cols > kParallelMin)
  for (int64_t r = 0; r < a.rows; r++) {
    const float* y = a.a.data + r * cols;
    const float* dy = a.b.data + r * cols;
    float* dx = a.c.data + r * cols;
    double dot = 0.0;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < cols; j++) dot += static_cast<double>(dy[j]) * y[j];
    const float d = static_cast<float>(dot);
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) dx[j] = (acc ? dx[j] : 0.0f) + y[j] * (dy[j] - d);
  }
  return info.Env().Undefined();
}

// logSoftmaxBackward(SoftmaxBackwardArgs): dx (+)= dy - exp(y) Σ dy
Napi::Value LogSoftmaxBackward(const Napi::CallbackInfo& info) {
    const Record rec = recordArg(info, "logSoftmaxBackward");
  RowArgs a = rowArgs(rec, "logSoftmaxBackward");
  const bool acc = boolArg(rec, "accumulate");
  const int64_t cols = a.cols;
#pragma omp parallel for schedule(static) if (a.rows * cols > kParallelMin)
  for (int64_t r = 0; r < a.rows; r++) {
    const float* y = a.a.data + r * cols;
    const float* dy = a.b.data + r * cols;
    float* dx = a.c.data + r * cols;
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < cols; j++) sum += dy[j];
    const float s = static_cast<float>(sum);
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) dx[j] = (acc ? dx[j] : 0.0f) + (dy[j] - expF(y[j]) * s);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitSoftmax(Napi::Env env, Napi::Object exports) {
  exportFn(env, exports, "softmax", Softmax);
  exportFn(env, exports, "logSoftmax", LogSoftmax);
  exportFn(env, exports, "softmaxBackward", SoftmaxBackward);
  exportFn(env, exports, "logSoftmaxBackward", LogSoftmaxBackward);
}

}  // namespace cola
