// Tensor storage must be 64-byte aligned: Node's own large ArrayBuffers start 16
// bytes past a 64-byte boundary, which costs oneDNN's bf16 path up to 2x
// (performance.md). alignPad(buffer) gives the bytes to skip in a JS-owned
// ArrayBuffer to reach a 64-byte boundary; tensor storage over-allocates by 64 and
// views from the pad, so V8 frees it during GC itself. (External buffers, freed by
// finalizers that Node runs only when the event loop turns, were never released
// by a synchronous training loop: OOM at ~21 GB, issue #7.) alignedAlloc below is
// for the kernels' own scratch.
#include <malloc.h>

#include <cstdlib>

#include "common.h"

namespace cola {

void* alignedAlloc(size_t bytes) {
  size_t rounded = ((bytes + 63) / 64) * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void alignedFree(void* p) { std::free(p); }

namespace {

// alignPad(arrayBuffer) -> bytes from its start to the first 64-byte boundary.
Napi::Value AlignPad(const Napi::CallbackInfo& info) {
  requireArgs(info, 1, "alignPad");
  if (!info[0].IsArrayBuffer()) throw argError(info.Env(), "alignPad: buffer must be an ArrayBuffer");
  auto addr = reinterpret_cast<uintptr_t>(info[0].As<Napi::ArrayBuffer>().Data());
  return Napi::Number::New(info.Env(), static_cast<double>((64 - addr % 64) % 64));
}

}  // namespace

// Keep freed memory in the process: glibc serves large blocks (> 128 KiB) with
// mmap and gives them back to the kernel on free, so every fresh activation paid
// first-touch page faults on each step (a third of the step's system time under
// the VM, issue #7). Without mmap and trimming, a training step's buffers are
// recycled from the heap. Peak RSS is unchanged; RSS stays at its peak afterwards,
// as with PyTorch's caching allocators.
void keepFreedMemory() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);  // -1: max value (never trim)
}

void InitAlloc(Napi::Env env, Napi::Object exports) {
  keepFreedMemory();
  exportFn(env, exports, "alignPad", AlignPad);
}

}  // namespace cola
