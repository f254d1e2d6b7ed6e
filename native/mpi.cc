// The optional Open MPI addon (issue 19): the few collectives data-parallel training
// and experiment grids need, and nothing else. Built as a second target (cola_mpi in
// binding.gyp) only when `mpicc` is present, so the main addon never depends on MPI.
// Every call is blocking and runs on the thread that called init() (MPI_THREAD_FUNNELED:
// cola's training body runs on one worker thread, src/cli/worker.ts).
#include <dlfcn.h>
#include <mpi.h>
#include <napi.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <cstdint>
#include <string>
#include <vector>

namespace {

bool initialized = false;
int worldRank = 0;
int worldSize = 1;

void requireInit(const Napi::Env& env) {
  if (!initialized) throw Napi::Error::New(env, "cola_mpi: init() was not called");
}

// Open MPI's components (mca_*.so) are dlopen'ed by libmpi and resolve symbols
// against it; a Node addon is loaded RTLD_LOCAL, so those symbols are not global and
// MPI_Init fails with "undefined symbol". Loading libmpi again RTLD_GLOBAL fixes that.
void promoteLibmpi() {
  const char* names[] = {"libmpi.so.40", "libmpi.so"};
  for (const char* n : names)
    if (dlopen(n, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) || dlopen(n, RTLD_NOW | RTLD_GLOBAL)) return;
}

void check(const Napi::Env& env, int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Napi::Error::New(env, std::string("cola_mpi: ") + what + " failed on rank " + std::to_string(worldRank) + ": " +
                                  std::string(msg, len));
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!initialized) {
    promoteLibmpi();
    int provided = 0;
    check(env, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    // Errors come back as return codes (then a JS exception) instead of aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &worldRank);
    MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
    initialized = true;
  }
  char host[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(host, &len);
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", worldRank);
  out.Set("size", worldSize);
  out.Set("host", std::string(host, len));
  return out;
}

// In-place sum over all ranks, in chunks of at most INT_MAX elements (MPI counts are int).
template <typename T>
void allreduce(const Napi::Env& env, T* data, size_t n, MPI_Datatype type) {
  for (size_t off = 0; off < n;) {
    int count = static_cast<int>(std::min<size_t>(n - off, INT_MAX / 2));
    check(env, MPI_Allreduce(MPI_IN_PLACE, data + off, count, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    off += count;
  }
}

Napi::Value AllreduceF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, "allreduceF32: expected a Float32Array");
  auto a = info[0].As<Napi::Float32Array>();
  allreduce(env, a.Data(), a.ElementLength(), MPI_FLOAT);
  return env.Undefined();
}

Napi::Value AllreduceF64(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, "allreduceF64: expected a Float64Array");
  auto a = info[0].As<Napi::Float64Array>();
  allreduce(env, a.Data(), a.ElementLength(), MPI_DOUBLE);
  return env.Undefined();
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  check(env, MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  return env.Undefined();
}

// bcastBytes(bytes | null, root): root's bytes on every rank (lengths travel first).
Napi::Value BcastBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  int root = info[1].As<Napi::Number>().Int32Value();
  if (root < 0 || root >= worldSize) throw Napi::RangeError::New(env, "bcastBytes: root out of range");
  int64_t len = 0;
  if (worldRank == root) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(env, "bcastBytes: the root passes a Uint8Array");
    len = static_cast<int64_t>(info[0].As<Napi::Uint8Array>().ByteLength());
  }
  check(env, MPI_Bcast(&len, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
  if (len > INT_MAX) throw Napi::RangeError::New(env, "bcastBytes: more than 2 GiB");
  Napi::Uint8Array out = Napi::Uint8Array::New(env, static_cast<size_t>(len));
  if (worldRank == root && len > 0) memcpy(out.Data(), info[0].As<Napi::Uint8Array>().Data(), static_cast<size_t>(len));
  check(env, MPI_Bcast(out.Data(), static_cast<int>(len), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  return out;
}

// gatherBytes(bytes, root): on root, every rank's bytes in rank order; elsewhere null.
Napi::Value GatherBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "gatherBytes: expected a Uint8Array");
  int root = info[1].As<Napi::Number>().Int32Value();
  if (root < 0 || root >= worldSize) throw Napi::RangeError::New(env, "gatherBytes: root out of range");
  auto mine = info[0].As<Napi::Uint8Array>();
  if (mine.ByteLength() > INT_MAX) throw Napi::RangeError::New(env, "gatherBytes: more than 2 GiB");
  int len = static_cast<int>(mine.ByteLength());
  std::vector<int> lens(worldRank == root ? worldSize : 0), offs(lens.size());
  check(env, MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Gather");
  int64_t total = 0;
  for (size_t r = 0; r < lens.size(); r++) {
    offs[r] = static_cast<int>(total);
    total += lens[r];
  }
  if (total > INT_MAX) throw Napi::RangeError::New(env, "gatherBytes: more than 2 GiB in all");
  std::vector<uint8_t> all(static_cast<size_t>(total));
  check(env, MPI_Gatherv(mine.Data(), len, MPI_BYTE, all.data(), lens.data(), offs.data(), MPI_BYTE, root, MPI_COMM_WORLD),
        "MPI_Gatherv");
  if (worldRank != root) return env.Null();
  Napi::Array out = Napi::Array::New(env, worldSize);
  for (int r = 0; r < worldSize; r++) {
    auto b = Napi::Uint8Array::New(env, static_cast<size_t>(lens[r]));
    if (lens[r] > 0) memcpy(b.Data(), all.data() + offs[r], static_cast<size_t>(lens[r]));
    out.Set(r, b);
  }
  return out;
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  int code = info.Length() > 0 ? info[0].As<Napi::Number>().Int32Value() : 1;
  if (initialized) MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (initialized) {
    MPI_Finalize();
    initialized = false;
  }
  return info.Env().Undefined();
}

Napi::Value Wtime(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MPI_Wtime()); }

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("allreduceF32", Napi::Function::New(env, AllreduceF32));
  exports.Set("allreduceF64", Napi::Function::New(env, AllreduceF64));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("bcastBytes", Napi::Function::New(env, BcastBytes));
  exports.Set("gatherBytes", Napi::Function::New(env, GatherBytes));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("wtime", Napi::Function::New(env, Wtime));
  return exports;
}

}  // namespace

NODE_API_MODULE(cola_mpi, Module)
