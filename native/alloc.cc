// Tensor storage: 64-byte aligned, zero-filled blocks handed to JavaScript as
// external ArrayBuffers. Node's own large ArrayBuffers start 16 bytes past a
// 64-byte boundary, which costs oneDNN's bf16 path up to 2x (performance.md).
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

// Frees the block and tells V8 the external memory is gone.
void finalizeBlock(Napi::Env env, void* data, size_t* bytes) {
  alignedFree(data);
  Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(*bytes));
  delete bytes;
}

// alloc(bytes) -> ArrayBuffer of exactly `bytes`, zero-filled, 64-byte aligned.
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  requireArgs(info, 1, "alloc");
  int64_t bytes = sizeArg(info, 0, "bytes");
  void* data = alignedAlloc(static_cast<size_t>(bytes));
  std::memset(data, 0, static_cast<size_t>(bytes));
  // V8 cannot see this memory; without the hint it would not collect dead
  // tensors soon enough and RSS would grow far past the live set.
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), bytes);
  auto* hint = new size_t(static_cast<size_t>(bytes));
  return Napi::ArrayBuffer::New(info.Env(), data, static_cast<size_t>(bytes), finalizeBlock, hint);
}

}  // namespace

void InitAlloc(Napi::Env env, Napi::Object exports) { exportFn(env, exports, "alloc", Alloc); }

}  // namespace cola
