// Fused scaled-dot-product attention with grouped-query heads and an optional
// causal mask. Forward stores each query row's logsumexp; backward recomputes the
// probabilities from it instead of storing [Tq, Tk] (as FlashAttention does).
// Correctness first: per-row loops vectorised over the head dim, parallel over
// (batch, head, row) forward and (batch, kv head) backward so nothing races.
#include <cmath>

#include "common.h"
#include "vmath.h"

namespace cola {
namespace {

struct Attn {
  int64_t B, Hq, Hkv, Tq, Tk, D;
  float scale;
  bool causal;
  int64_t group() const { return Hq / Hkv; }
  // Keys 0..visible(i)-1 are seen by query i (absolute position Tk - Tq + i).
  int64_t visible(int64_t i) const {
    if (!causal) return Tk;
    return std::max<int64_t>(0, std::min<int64_t>(Tk, Tk - Tq + i + 1));
  }
};

// args: batch, headsQ, headsKv, seqQ, seqKv, headDim, scale, causal at `first`.
Attn attnArgs(const Napi::CallbackInfo& info, size_t first) {
  Attn a{sizeArg(info, first, "batch"),     sizeArg(info, first + 1, "headsQ"),
         sizeArg(info, first + 2, "headsKv"), sizeArg(info, first + 3, "seqQ"),
         sizeArg(info, first + 4, "seqKv"), sizeArg(info, first + 5, "headDim"),
         static_cast<float>(numArg(info, first + 6, "scale")), boolArg(info, first + 7, "causal")};
  if (a.Hkv == 0 || a.Hq % a.Hkv != 0) {
    throw Napi::RangeError::New(info.Env(), "attention: headsQ (" + std::to_string(a.Hq) +
                                                ") must be a multiple of headsKv (" + std::to_string(a.Hkv) + ")");
  }
  return a;
}

inline float dot(const float* x, const float* y, int64_t n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t d = 0; d < n; d++) s += x[d] * y[d];
  return s;
}

// Offset of kv row 0 for flat query head bh = b * Hq + h.
inline int64_t kvBase(const Attn& a, int64_t bh) {
  const int64_t b = bh / a.Hq, kvHead = (bh % a.Hq) / a.group();
  return (b * a.Hkv + kvHead) * a.Tk * a.D;
}

// attention(q, k, v, out, lse, ...args)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  requireArgs(info, 13, "attention");
  Napi::Env env = info.Env();
  View<float> q = arrayArg<float>(info, 0, "q"), k = arrayArg<float>(info, 1, "k"), v = arrayArg<float>(info, 2, "v");
  View<float> out = arrayArg<float>(info, 3, "out"), lse = arrayArg<float>(info, 4, "lse");
  const Attn a = attnArgs(info, 5);
  requireLen(env, q.size, a.B * a.Hq * a.Tq * a.D, "attention q");
  requireLen(env, out.size, a.B * a.Hq * a.Tq * a.D, "attention out");
  requireLen(env, k.size, a.B * a.Hkv * a.Tk * a.D, "attention k");
  requireLen(env, v.size, a.B * a.Hkv * a.Tk * a.D, "attention v");
  requireLen(env, lse.size, a.B * a.Hq * a.Tq, "attention lse");
  const int64_t heads = a.B * a.Hq, D = a.D;
#pragma omp parallel
  {
    std::vector<float> s(static_cast<size_t>(a.Tk));
    std::vector<float> acc(static_cast<size_t>(D));
#pragma omp for collapse(2) schedule(dynamic, 16)
    for (int64_t bh = 0; bh < heads; bh++) {
      for (int64_t i = 0; i < a.Tq; i++) {
        const float* qi = q.data + (bh * a.Tq + i) * D;
        const float* kb = k.data + kvBase(a, bh);
        const float* vb = v.data + kvBase(a, bh);
        const int64_t count = a.visible(i);
        float max = -INFINITY;
        for (int64_t j = 0; j < count; j++) {
          s[j] = a.scale * dot(qi, kb + j * D, D);
          max = std::fmax(max, s[j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j < count; j++) {
          s[j] = expF(s[j] - max);
          sum += s[j];
        }
        std::fill(acc.begin(), acc.end(), 0.0f);
        float* accp = acc.data();
        for (int64_t j = 0; j < count; j++) {
          const float p = s[j];
          const float* vj = vb + j * D;
#pragma omp simd
          for (int64_t d = 0; d < D; d++) accp[d] += p * vj[d];
        }
        // A query that sees no key (only when seqQ > seqKv) outputs zeros, lse -inf.
        const float inv = count == 0 ? 0.0f : static_cast<float>(1.0 / sum);
        float* o = out.data + (bh * a.Tq + i) * D;
        for (int64_t d = 0; d < D; d++) o[d] = accp[d] * inv;
        lse.data[bh * a.Tq + i] = count == 0 ? -INFINITY : static_cast<float>(max + std::log(sum));
      }
    }
  }
  return env.Undefined();
}

// With p_j = exp(s_j - lse) and dp_j = dOut . v_j:
//   ds_j = p_j (dp_j - Δ), Δ = dOut . out;  dq += scale Σ_j ds_j k_j,
//   dk_j += scale ds_j q,  dv_j += p_j dOut.
// One task per (batch, kv head): it owns that head's dk, dv and its group's dq.
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  requireArgs(info, 17, "attentionBackward");
  Napi::Env env = info.Env();
  View<float> q = arrayArg<float>(info, 0, "q"), k = arrayArg<float>(info, 1, "k"), v = arrayArg<float>(info, 2, "v");
  View<float> out = arrayArg<float>(info, 3, "out"), lse = arrayArg<float>(info, 4, "lse");
  View<float> dOut = arrayArg<float>(info, 5, "dOut");
  View<float> dq = optArrayArg<float>(info, 6, "dq"), dk = optArrayArg<float>(info, 7, "dk");
  View<float> dv = optArrayArg<float>(info, 8, "dv");
  const Attn a = attnArgs(info, 9);
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
  const int64_t D = a.D, group = a.group();
#pragma omp parallel
  {
    std::vector<float> gk(static_cast<size_t>(a.Tk * D)), gv(static_cast<size_t>(a.Tk * D));
    std::vector<float> gq(static_cast<size_t>(D));
#pragma omp for schedule(dynamic, 1)
    for (int64_t bkv = 0; bkv < a.B * a.Hkv; bkv++) {
      const int64_t b = bkv / a.Hkv, kvHead = bkv % a.Hkv;
      const float* kb = k.data + bkv * a.Tk * D;
      const float* vb = v.data + bkv * a.Tk * D;
      std::fill(gk.begin(), gk.end(), 0.0f);
      std::fill(gv.begin(), gv.end(), 0.0f);
      float *gkp = gk.data(), *gvp = gv.data(), *gqp = gq.data();
      for (int64_t h = kvHead * group; h < (kvHead + 1) * group; h++) {
        const int64_t bh = b * a.Hq + h;
        for (int64_t i = 0; i < a.Tq; i++) {
          const int64_t qo = (bh * a.Tq + i) * D;
          const float* qi = q.data + qo;
          const float* doi = dOut.data + qo;
          const float rowLse = lse.data[bh * a.Tq + i];
          const float delta = dot(doi, out.data + qo, D);
          const int64_t count = a.visible(i);
          std::fill(gq.begin(), gq.end(), 0.0f);
          for (int64_t j = 0; j < count; j++) {
            const float* kj = kb + j * D;
            const float* vj = vb + j * D;
            const float p = expF(a.scale * dot(qi, kj, D) - rowLse);
            const float ds = a.scale * p * (dot(doi, vj, D) - delta);
            float* gkj = gkp + j * D;
            float* gvj = gvp + j * D;
#pragma omp simd
            for (int64_t d = 0; d < D; d++) {
              gqp[d] += ds * kj[d];
              gkj[d] += ds * qi[d];
              gvj[d] += p * doi[d];
            }
          }
          if (dq.data) std::memcpy(dq.data + qo, gqp, static_cast<size_t>(D) * sizeof(float));
        }
      }
      if (dk.data) std::memcpy(dk.data + bkv * a.Tk * D, gkp, static_cast<size_t>(a.Tk * D) * sizeof(float));
      if (dv.data) std::memcpy(dv.data + bkv * a.Tk * D, gvp, static_cast<size_t>(a.Tk * D) * sizeof(float));
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
