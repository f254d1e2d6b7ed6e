// What this processor and runtime offer (issue 15): oneDNN's effective ISA (what
// its kernels will actually use, after DNNL_MAX_CPU_ISA), the cpuid feature bits
// that decide bf16 compute, and OpenMP's thread count. Read by `cola doctor` and
// the compute-path dispatch (src/backend/machine.ts).
#include <cpuid.h>
#include <omp.h>

#include "common.h"
#include "gemm.h"
#include "dnnl_context.h"

namespace cola {
namespace {

const char* isaName(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "all";
  }
}

// Feature bits from cpuid leaf 7 (Intel SDM vol. 2A, table 3-8). They say what the
// silicon has, not whether the OS enabled it: /proc/cpuinfo (read first, in
// TypeScript) reflects both; these serve where it is absent.
Napi::Object cpuidFlags(Napi::Env env) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  Napi::Object o = Napi::Object::New(env);
  bool has7 = __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0;
  o.Set("avx2", has7 && (b & (1u << 5)));
  o.Set("avx512f", has7 && (b & (1u << 16)));
  o.Set("avx512Vnni", has7 && (c & (1u << 11)));
  o.Set("amxBf16", has7 && (d & (1u << 22)));
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  bool has71 = has7 && a >= 1 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) != 0;
  o.Set("avx512Bf16", has71 && (a1 & (1u << 5)));
  return o;
}

// cpuInfo() -> { onednnIsa, onednnVersion, ompMaxThreads, cpuid: {...} }
Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("onednnIsa", isaName(dnnl_get_effective_cpu_isa()));
  const dnnl_version_t* v = dnnl_version();
  o.Set("onednnVersion", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("ompMaxThreads", omp_get_max_threads());
  o.Set("bf16Matmul", bf16MatmulNative());
  o.Set("gemmAvx2", gemmAvx2Suits());
  o.Set("cpuid", cpuidFlags(env));
  return o;
}

// setThreads(n): OpenMP threads of the calling thread's later parallel regions
// (every kernel and oneDNN primitive). OMP_NUM_THREADS, set before the addon
// loads (bin/cola.js), already gives every thread this default.
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  requireArgs(info, 1, "setThreads");
  int64_t n = sizeArg(info, 0, "n");
  if (n < 1 || n > 4096) throw argError(info.Env(), "setThreads: n must be between 1 and 4096");
  omp_set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

}  // namespace

void InitCpu(Napi::Env env, Napi::Object exports) {
  exportFn(env, exports, "cpuInfo", CpuInfo);
  exportFn(env, exports, "setThreads", SetThreads);
}

}  // namespace cola
