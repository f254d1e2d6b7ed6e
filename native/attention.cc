// Fused scaled-dot-product attention with grouped-query heads, an optional
// causal mask, sliding window, logit soft-capping (Gemma 2) and an optional first
// key per query (keyStart: a block-diagonal mask for packed sequences, issue 18).
// Forward stores each query row's logsumexp; backward recomputes the
// probabilities from it instead of storing [Tq, Tk] per layer (as FlashAttention).
//
// Each head (forward) or (batch, kv head) pair (backward) is one task of an OpenMP
// loop: its products run single-threaded on the task's thread (gemmTaskF32: cola's AVX2
// kernel where it suits, else oneDNN; same bits on any number of threads),
// with the row-wise softmax passes in between, on [Tq, Tk] scores that stay in
// cache. The per-row dot-product loops this replaced ran at ~12 GFLOP/s, and one
// multi-threaded matmul per stage paid a thread barrier each time, which collapsed
// when the 2 cores were shared (issue #7). Heads are read in place with row
// strides, in [B, H, T, D] or [B, T, H, D] (a linear layer's output: no transposes).
// A causal head runs in blocks of 64 queries, each against only the keys its last
// query sees, so the masked upper triangle is never computed: at 256 tokens 62.5%
// of the full products (issue 15), as FlashAttention skips fully masked tiles.
#include <cmath>

#include "common.h"
#include "vmath.h"

namespace cola {
namespace {

struct Attn {
  int64_t B, Hq, Hkv, Tq, Tk, D;
  float scale;
  bool causal;
  bool bthd;  // [B, T, H, D] storage instead of [B, H, T, D]
  int64_t window = 0;  // sliding window (keys at positions <= p - window hidden); 0 = none
  float softcap = 0.0f;  // scores -> softcap * tanh(s / softcap); 0 = none
  int64_t group() const { return Hq / Hkv; }
  // Row strides and the first row of head h of batch b, for q/out and k/v.
  int64_t qStride() const { return bthd ? Hq * D : D; }
  int64_t kvStride() const { return bthd ? Hkv * D : D; }
  int64_t qBase(int64_t b, int64_t h) const { return bthd ? (b * Tq * Hq + h) * D : (b * Hq + h) * Tq * D; }
  int64_t kvBase(int64_t b, int64_t h) const { return bthd ? (b * Tk * Hkv + h) * D : (b * Hkv + h) * Tk * D; }
  // Optional [B, Tq]: the first key each query sees (packed sequences, issue 18).
  const int32_t* keyStart = nullptr;
  // Keys 0..visible(i)-1 are seen by query i (absolute position Tk - Tq + i).
  int64_t visible(int64_t i) const {
    if (!causal) return Tk;
    return std::max<int64_t>(0, std::min<int64_t>(Tk, Tk - Tq + i + 1));
  }
  // The first key query i of batch row b sees: keyStart's (packed rows), and a
  // sliding window hides the older ones; at most visible(i).
  int64_t first(int64_t b, int64_t i) const {
    int64_t lo = keyStart ? keyStart[b * Tq + i] : 0;
    if (window != 0) lo = std::max<int64_t>(lo, Tk - Tq + i - window + 1);
    return std::min<int64_t>(visible(i), lo);
  }
};

// The shape fields of AttentionArgs (backend.ts); layout 'bhtd' when absent.
Attn attnArgs(const Record& r) {
  Attn a{sizeArg(r, "batch"),   sizeArg(r, "headsQ"),  sizeArg(r, "headsKv"),
         sizeArg(r, "seqQ"),    sizeArg(r, "seqKv"),   sizeArg(r, "headDim"),
         static_cast<float>(numArg(r, "scale")), boolArg(r, "causal"),
         asEnum(arg(r, "layout"), "layout", {"bhtd", "bthd"}, 0) == 1};
  const Arg window = arg(r, "window"), softcap = arg(r, "softcap");
  if (!isAbsent(window)) {
    a.window = asSize(window, "window");
    if (a.window == 0 || !a.causal) throw Napi::RangeError::New(r.env, "attention: window must be a positive integer and needs causal");
  }
  if (!isAbsent(softcap)) {
    a.softcap = static_cast<float>(asNumber(softcap, "softcap"));
    if (!(a.softcap > 0.0f)) throw Napi::RangeError::New(r.env, "attention: softcap must be > 0");
  }
  if (a.Hkv == 0 || a.Hq % a.Hkv != 0) {
    throw Napi::RangeError::New(r.env, "attention: headsQ (" + std::to_string(a.Hq) +
                                                ") must be a multiple of headsKv (" + std::to_string(a.Hkv) + ")");
  }
  View<int32_t> ks = optArrayArg<int32_t>(r, "keyStart");
  if (ks.data) {
    requireLen(r.env, ks.size, a.B * a.Tq, "attention keyStart");
    for (size_t i = 0; i < ks.size; i++) {
      if (ks.data[i] < 0 || ks.data[i] > a.Tk) {
        throw Napi::RangeError::New(r.env, "attention: keyStart " + std::to_string(ks.data[i]) + " is outside 0.." +
                                               std::to_string(a.Tk));
      }
    }
    a.keyStart = ks.data;
  }
  return a;
}

// A reusable 64-byte aligned float buffer, one per thread.
struct Buffer {
  float* p = nullptr;
  int64_t n = 0;
  ~Buffer() { alignedFree(p); }
  float* get(int64_t want) {
    if (want > n) {
      alignedFree(p);
      p = static_cast<float*>(alignedAlloc(static_cast<size_t>(std::max<int64_t>(want, 1)) * sizeof(float)));
      n = want;
    }
    return p;
  }
};

// A block of query rows [i0, i1) and the keys [kLo, kEnd) any of them sees.
struct Rows {
  int64_t i0, i1, kLo, kEnd;
  int64_t count() const { return i1 - i0; }
  int64_t keys() const { return kEnd - kLo; }
};

constexpr int64_t kQueryBlock = 64;

// The query blocks of a head of batch row b: all rows at once without a causal mask,
// else blocks of kQueryBlock rows, each up to its last row's visible keys
// (nondecreasing in i) and from the first key any of its rows sees: keys a sliding
// window or a packed row's keyStart hides from the whole block are never multiplied.
template <typename F>
void forEachBlock(const Attn& a, int64_t b, F&& f) {
  const int64_t step = a.causal ? kQueryBlock : a.Tq;
  for (int64_t i0 = 0; i0 < a.Tq; i0 += step) {
    const int64_t i1 = std::min(a.Tq, i0 + step), kEnd = a.visible(i1 - 1);
    int64_t kLo = kEnd;
    for (int64_t i = i0; i < i1 && kLo > 0; i++) kLo = std::min(kLo, a.first(b, i));
    f(Rows{i0, i1, kLo, kEnd});
  }
}

// s[i, kLo:kEnd] = scale * Q_bh[i] K_bkv[kLo:kEnd]^T for the block's rows i (s is
// [Tq, Tk] row-major; q and k are the heads' first rows), soft-capped when a.softcap
// is set. With `capGrad` (backward) it also receives d(capped)/d(raw) = 1 - (s / softcap)^2.
void scores(const Attn& a, const Rows& r, const float* q, const float* k, float* s, float* capGrad = nullptr) {
  if (r.keys() == 0) return;
  gemmTaskF32({r.count(), r.keys(), a.D, false, true, a.qStride(), a.kvStride(), a.Tk, a.scale, 0.0f}, q + r.i0 * a.qStride(),
          k + r.kLo * a.kvStride(), s + r.i0 * a.Tk + r.kLo);
  if (a.softcap == 0.0f) return;
  const float cap = a.softcap, inv = 1.0f / a.softcap;
  for (int64_t i = r.i0; i < r.i1; i++) {
    for (int64_t j = r.kLo; j < r.kEnd; j++) {
      const int64_t at = i * a.Tk + j;
      const float t = tanhF(s[at] * inv);
      s[at] = cap * t;
      if (capGrad) capGrad[at] = 1.0f - t * t;
    }
  }
}

// In place over the block's rows and keys [kLo, kEnd): scores -> probabilities
// exp(s - lse) with masked keys at 0. With `lseOut` each row's lse is computed
// (forward) and stored, else read from lseIn (both [Tq] of this head of batch row b).
void probabilities(const Attn& a, const Rows& r, int64_t b, float* s, float* lseOut, const float* lseIn) {
  const int64_t Tk = a.Tk;
  for (int64_t i = r.i0; i < r.i1; i++) {
    float* row = s + i * Tk;
    const int64_t count = a.visible(i), lo = a.first(b, i);
    if (count == lo) {
      std::fill(row + r.kLo, row + r.kEnd, 0.0f);  // a query that sees no key: zero output and gradients
      if (lseOut) lseOut[i] = -INFINITY;
      continue;
    }
    std::fill(row + r.kLo, row + lo, 0.0f);
    std::fill(row + count, row + r.kEnd, 0.0f);
    if (lseOut) {  // one exp per score: exp(s - max) kept, then scaled by 1 / sum
      const float max = rowMax(row + lo, count - lo);
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = lo; j < count; j++) {
        row[j] = expF(row[j] - max);
        sum += row[j];
      }
      lseOut[i] = max + std::log(sum);
      const float inv = 1.0f / sum;
#pragma omp simd
      for (int64_t j = lo; j < count; j++) row[j] *= inv;
      continue;
    }
    const float lse = lseIn[i];
#pragma omp simd
    for (int64_t j = lo; j < count; j++) row[j] = expF(row[j] - lse);
  }
}

// attention(AttentionArgs { q, k, v, out, lse, ...shape })
Napi::Value Attention(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "attention");
  Napi::Env env = info.Env();
  View<float> q = arrayArg<float>(r, "q"), k = arrayArg<float>(r, "k"), v = arrayArg<float>(r, "v");
  View<float> out = arrayArg<float>(r, "out"), lse = arrayArg<float>(r, "lse");
  const Attn a = attnArgs(r);
  requireLen(env, q.size, a.B * a.Hq * a.Tq * a.D, "attention q");
  requireLen(env, out.size, a.B * a.Hq * a.Tq * a.D, "attention out");
  requireLen(env, k.size, a.B * a.Hkv * a.Tk * a.D, "attention k");
  requireLen(env, v.size, a.B * a.Hkv * a.Tk * a.D, "attention v");
  requireLen(env, lse.size, a.B * a.Hq * a.Tq, "attention lse");
  if (a.Tk == 0) {  // nothing to attend to: zeros, lse -inf
    std::fill(out.data, out.data + a.B * a.Hq * a.Tq * a.D, 0.0f);
    std::fill(lse.data, lse.data + a.B * a.Hq * a.Tq, -INFINITY);
    return env.Undefined();
  }
  const int64_t heads = a.B * a.Hq;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t bh = 0; bh < heads; bh++) {
    const int64_t b = bh / a.Hq, h = bh % a.Hq, kv = a.kvBase(b, h / a.group()), qo = a.qBase(b, h);
    thread_local Buffer sBuf;
    float* s = sBuf.get(a.Tq * a.Tk);
    forEachBlock(a, b, [&](const Rows& r) {
      scores(a, r, q.data + qo, k.data + kv, s);
      probabilities(a, r, b, s, lse.data + bh * a.Tq, nullptr);
      float* o = out.data + qo + r.i0 * a.qStride();
      if (r.keys() == 0) {  // no query of the block sees a key: zero output
        for (int64_t i = 0; i < r.count(); i++) std::fill(o + i * a.qStride(), o + i * a.qStride() + a.D, 0.0f);
        return;
      }
      // out[rows] = P[rows, kLo:kEnd] V[kLo:kEnd]: [rows, keys] x [keys, D]
      gemmTaskF32({r.count(), a.D, r.keys(), false, false, a.Tk, a.kvStride(), a.qStride(), 1.0f, 0.0f}, s + r.i0 * a.Tk + r.kLo,
              v.data + kv + r.kLo * a.kvStride(), o);
    });
  }
  return env.Undefined();
}

// dS = P * (dP - delta) * scale in place over dP, delta_i = dOut_i . out_i, times
// capGrad (the soft-cap's derivative) when given.
void scoreGrads(const Attn& a, const Rows& r, const float* p, float* dp, const float* dOut, const float* out, const float* capGrad) {
  const int64_t Tk = a.Tk, D = a.D, stride = a.qStride();
  for (int64_t i = r.i0; i < r.i1; i++) {
    float delta = 0.0f;
#pragma omp simd reduction(+ : delta)
    for (int64_t d = 0; d < D; d++) delta += dOut[i * stride + d] * out[i * stride + d];
    const float* pr = p + i * Tk;
    float* g = dp + i * Tk;
#pragma omp simd
    for (int64_t j = r.kLo; j < r.kEnd; j++) g[j] = a.scale * pr[j] * (g[j] - delta);
    if (capGrad) {
      const float* cg = capGrad + i * Tk;
#pragma omp simd
      for (int64_t j = r.kLo; j < r.kEnd; j++) g[j] *= cg[j];
    }
  }
}

// With P recomputed from lse and dP = dOut V^T:
//   dV = P^T dOut,  dS = P (dP - delta) scale,  dQ = dS K,  dK = dS^T Q.
// One task per (batch, kv head): it owns that head's dK, dV, summed over its group.
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const Record r = recordArg(info, "attentionBackward");
  Napi::Env env = info.Env();
  View<float> q = arrayArg<float>(r, "q"), k = arrayArg<float>(r, "k"), v = arrayArg<float>(r, "v");
  View<float> out = arrayArg<float>(r, "out"), lse = arrayArg<float>(r, "lse");
  View<float> dOut = arrayArg<float>(r, "dOut");
  View<float> dq = optArrayArg<float>(r, "dq"), dk = optArrayArg<float>(r, "dk");
  View<float> dv = optArrayArg<float>(r, "dv");
  const Attn a = attnArgs(r);
  const int64_t qLen = a.B * a.Hq * a.Tq * a.D, kvLen = a.B * a.Hkv * a.Tk * a.D;
  requireLen(env, q.size, qLen, "attentionBackward q");
  requireLen(env, out.size, qLen, "attentionBackward out");
  requireLen(env, dOut.size, qLen, "attentionBackward dOut");
  requireLen(env, k.size, kvLen, "attentionBackward k");
  requireLen(env, v.size, kvLen, "attentionBackward v");
  requireLen(env, lse.size, a.B * a.Hq * a.Tq, "attentionBackward lse");
  if (dq.data) requireLen(env, dq.size, qLen, "attentionBackward dq");
  if (dk.data) requireLen(env, dk.size, kvLen, "attentionBackward dk");
  if (dv.data) requireLen(env, dv.size, kvLen, "attentionBackward dv");
  if (a.Tk == 0 || a.Tq == 0) {  // no products to write the gradients: they are 0
    if (dq.data) std::fill(dq.data, dq.data + qLen, 0.0f);
    if (dk.data) std::fill(dk.data, dk.data + kvLen, 0.0f);
    if (dv.data) std::fill(dv.data, dv.data + kvLen, 0.0f);
    return env.Undefined();
  }
  const int64_t Tq = a.Tq, Tk = a.Tk, D = a.D, qs = a.qStride(), ks = a.kvStride(), group = a.group();
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t pair = 0; pair < a.B * a.Hkv; pair++) {
    const int64_t b = pair / a.Hkv, kvHead = pair % a.Hkv, kv = a.kvBase(b, kvHead);
    thread_local Buffer pBuf, dpBuf, capBuf;
    float* p = pBuf.get(Tq * Tk);
    float* dp = dpBuf.get(Tq * Tk);
    float* capGrad = a.softcap == 0.0f ? nullptr : capBuf.get(Tq * Tk);
    // dK and dV add up over the group's heads and the query blocks: from zero
    for (int64_t j = 0; j < Tk; j++) {
      if (dk.data) std::fill(dk.data + kv + j * ks, dk.data + kv + j * ks + D, 0.0f);
      if (dv.data) std::fill(dv.data + kv + j * ks, dv.data + kv + j * ks + D, 0.0f);
    }
    for (int64_t h = kvHead * group; h < (kvHead + 1) * group; h++) {
      const int64_t qo = a.qBase(b, h);
      forEachBlock(a, b, [&](const Rows& r) {
        const float* dOutR = dOut.data + qo + r.i0 * qs;
        if (r.keys() == 0) {  // the block sees no key: no gradient for its queries
          if (dq.data)
            for (int64_t i = r.i0; i < r.i1; i++) std::fill(dq.data + qo + i * qs, dq.data + qo + i * qs + D, 0.0f);
          return;
        }
        scores(a, r, q.data + qo, k.data + kv, p, capGrad);
        probabilities(a, r, b, p, nullptr, lse.data + (b * a.Hq + h) * Tq);
        const float* pR = p + r.i0 * Tk + r.kLo;
        const int64_t kvLo = kv + r.kLo * ks;  // the block's first visible key row
        // dV[kLo:kEnd] += P[rows, kLo:kEnd]^T dOut[rows]: [keys, rows] x [rows, D]
        if (dv.data) gemmTaskF32({r.keys(), D, r.count(), true, false, Tk, qs, ks, 1.0f, 1.0f}, pR, dOutR, dv.data + kvLo);
        if (!dq.data && !dk.data) return;
        float* dpR = dp + r.i0 * Tk + r.kLo;
        // dP[rows, kLo:kEnd] = dOut[rows] V[kLo:kEnd]^T: [rows, D] x [D, keys]
        gemmTaskF32({r.count(), r.keys(), D, false, true, qs, ks, Tk, 1.0f, 0.0f}, dOutR, v.data + kvLo, dpR);
        scoreGrads(a, r, p, dp, dOut.data + qo, out.data + qo, capGrad);
        // dQ[rows] = dS[rows, kLo:kEnd] K[kLo:kEnd];  dK[kLo:kEnd] += dS[rows, kLo:kEnd]^T Q[rows]
        if (dq.data) gemmTaskF32({r.count(), D, r.keys(), false, false, Tk, ks, qs, 1.0f, 0.0f}, dpR, k.data + kvLo, dq.data + qo + r.i0 * qs);
        if (dk.data) gemmTaskF32({r.keys(), D, r.count(), true, false, Tk, qs, ks, 1.0f, 1.0f}, dpR, q.data + qo + r.i0 * qs, dk.data + kvLo);
      });
    }
  }
  return env.Undefined();
}

}  // namespace

void InitAttention(Napi::Env env, Napi::Object exports) {
  exportFn(env, exports, "attention", Attention);
  exportFn(env, exports, "attentionBackward", AttentionBackward);
}

}  // namespace cola
