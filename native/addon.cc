// Module entry: every kernel family registers its functions here.
#include "common.h"

namespace cola {
void InitQuantize(Napi::Env env, Napi::Object exports);  // quantize.cc (issue 17)
}

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // threads an Init starts (OpenMP's, oneDNN's) inherit held signals too (signals.h)
  cola::SignalsHeld held;
  cola::InitAlloc(env, exports);
  cola::InitConvert(env, exports);
  cola::InitCopy(env, exports);
  cola::InitMatmul(env, exports);
  cola::InitQuantMatmul(env, exports);
  cola::InitQuantize(env, exports);
  cola::InitElementwise(env, exports);
  cola::InitSoftmax(env, exports);
  cola::InitNorm(env, exports);
  cola::InitRope(env, exports);
  cola::InitAttention(env, exports);
  cola::InitEmbedding(env, exports);
  cola::InitCrossEntropy(env, exports);
  cola::InitAdamw(env, exports);
  cola::InitCpu(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(cola_native, Init)
