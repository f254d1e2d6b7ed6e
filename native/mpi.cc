// The optional Open MPI addon (issue 19): the few collectives data-parallel training
// and experiment grids need, and nothing else. Built as a second target (cola_mpi in
// binding.gyp) only when `mpicc` is present, so the main addon never depends on MPI.
// Every call blocks and runs on the thread that called init() (MPI_THREAD_FUNNELED:
// cola's training body runs on one worker thread, src/cli/worker.ts).
//
// The watchdog (setTimeout): Open MPI's collectives have no timeout, so a rank that hangs
// without dying (stopped, deadlocked, stuck in a loop) would block the others forever.
// With a timeout set, every collective is the nonblocking one (MPI_Iallreduce, ...)
// completed by an MPI_Test loop with a deadline. A rank whose wait passes the deadline
// asks every other rank, point to point, where it is; ranks waiting in a watched
// collective answer from their test loops, so the error names the ranks that did not
// answer (stopped, hung, or busy outside a collective) and where the others wait. The
// error is a JS exception: the rank exits non-zero and mpirun ends the job.
#include <dlfcn.h>
#include <sched.h>
#include <unistd.h>
#include <mpi.h>
#include <napi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <string>
#include <vector>

namespace {

bool initialized = false;
int worldRank = 0;
int worldSize = 1;

// The watchdog: 0 = blocking collectives, no deadline.
double timeoutSeconds = 0;
// Collectives this rank has entered (they are entered in the same order on every rank).
int64_t collectiveCount = 0;

// Where a rank waits, as it tells a rank that asks (fixed size: one message, no lengths).
struct WhereAbouts {
  int64_t collective;  // its collective count, 0 = none
  double waitedSeconds;
  char what[112];
};
constexpr int TAG_ASK = 7901;
constexpr int TAG_ANSWER = 7902;

// What this rank is waiting in now (for answers).
WhereAbouts current{};
// Send buffers of the answers and asks in flight (one per peer: an MPI send buffer must
// live until the send completes; the requests are freed, not waited on).
std::vector<WhereAbouts> answerBufs, askBufs;

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

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
    answerBufs.assign(worldSize, WhereAbouts{});
    askBufs.assign(worldSize, WhereAbouts{});
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

// Answers every rank that asked where this one waits (called from the wait loop).
void answerAsks() {
  for (;;) {
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS || !flag) return;
    WhereAbouts ask;
    MPI_Recv(&ask, sizeof ask, MPI_BYTE, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    answerBufs[st.MPI_SOURCE] = current;
    MPI_Request r;
    if (MPI_Isend(&answerBufs[st.MPI_SOURCE], sizeof(WhereAbouts), MPI_BYTE, st.MPI_SOURCE, TAG_ANSWER, MPI_COMM_WORLD, &r) ==
        MPI_SUCCESS)
      MPI_Request_free(&r);
  }
}

// The deadline passed: ask the others where they are (for up to `grace` seconds), then
// throw an error naming the ranks that did not answer.
[[noreturn]] void timedOut(const Napi::Env& env, const char* op, double waited) {
  const int n = worldSize;
  std::vector<WhereAbouts> answers(n);
  std::vector<MPI_Request> recvs(n, MPI_REQUEST_NULL);
  std::vector<int> answered(n, 0);
  for (int r = 0; r < n; r++) {
    if (r == worldRank) continue;
    MPI_Irecv(&answers[r], sizeof(WhereAbouts), MPI_BYTE, r, TAG_ANSWER, MPI_COMM_WORLD, &recvs[r]);
    askBufs[r] = current;
    MPI_Request s;
    if (MPI_Isend(&askBufs[r], sizeof(WhereAbouts), MPI_BYTE, r, TAG_ASK, MPI_COMM_WORLD, &s) == MPI_SUCCESS) MPI_Request_free(&s);
  }
  const double grace = std::min(2.0, std::max(0.2, timeoutSeconds / 4));
  auto t0 = Clock::now();
  int missing = n - 1;
  while (missing > 0 && secondsSince(t0) < grace) {
    answerAsks();
    for (int r = 0; r < n; r++) {
      if (r == worldRank || answered[r]) continue;
      int done = 0;
      MPI_Test(&recvs[r], &done, MPI_STATUS_IGNORE);
      if (done) answered[r] = 1, missing--;
    }
    usleep(1000);
  }
  std::string silent, waiting, elsewhere;
  for (int r = 0; r < n; r++) {
    if (r == worldRank) continue;
    if (!answered[r]) {
      silent += (silent.empty() ? "" : ", ") + std::to_string(r);
      continue;
    }
    answers[r].what[sizeof answers[r].what - 1] = 0;
    // the same collective: the same count (every rank enters them in the same order) and name
    if (answers[r].collective == current.collective && strcmp(answers[r].what, current.what) == 0)
      waiting += ", " + std::to_string(r);
    else
      elsewhere += "; rank " + std::to_string(r) + " waits in collective #" + std::to_string(answers[r].collective) + " (" +
                   answers[r].what + ")";
  }
  char secs[32];
  snprintf(secs, sizeof secs, "%.1f", waited);
  std::string msg = std::string(op) + " (" + current.what + ", collective #" + std::to_string(current.collective) +
                    ") did not complete within the rank timeout (" + secs + " s): ";
  if (!silent.empty())
    msg += "rank(s) " + silent +
           " did not reach it and did not answer (stopped, hung, or busy outside a collective, e.g. rank 0 evaluating or writing)";
  else
    msg += "every rank answered, but not all from this collective (the ranks took different paths: a deadlock)";
  msg += "; rank(s) " + std::to_string(worldRank) + waiting + " wait in it" + elsewhere +
         ". Stopping the job; the last checkpoint is intact (resume with --resume). If a rank legitimately works alone this "
         "long, raise --rank-timeout";
  throw Napi::Error::New(env, "cola_mpi: " + msg);
}

// Completes a nonblocking collective: an MPI_Test loop with the deadline, answering asks.
// The collective progresses only inside MPI calls, so the loop spins for the first
// millisecond, then yields the core each turn (ranks sharing cores), and only past a
// second, a wait for another rank's work (rank 0's evaluation) and no longer the
// collective's own cost, sleeps 1 ms per turn to leave the core to it.
void await(const Napi::Env& env, MPI_Request* req, const char* op) {
  auto t0 = Clock::now();
  for (;;) {
    int done = 0;
    check(env, MPI_Test(req, &done, MPI_STATUS_IGNORE), op);
    if (done) return;
    double waited = secondsSince(t0);
    if (waited < 1e-3) continue;
    current.waitedSeconds = waited;
    answerAsks();
    if (waited > timeoutSeconds) timedOut(env, op, waited);
    if (waited < 1.0)
      sched_yield();
    else
      usleep(1000);
  }
}

// Runs one collective: blocking without a timeout, else its nonblocking form watched.
// `start` starts it: blocking when req is null, else nonblocking into *req.
template <typename Start>
void collective(const Napi::Env& env, const char* op, const std::string& what, Start start) {
  collectiveCount++;
  if (timeoutSeconds <= 0) {
    check(env, start(nullptr), op);
    return;
  }
  current.collective = collectiveCount;
  current.waitedSeconds = 0;
  snprintf(current.what, sizeof current.what, "%s", what.c_str());
  MPI_Request req;
  check(env, start(&req), op);
  await(env, &req, op);
  current.collective = 0;
}

std::string whatOf(const Napi::CallbackInfo& info, size_t at, const char* fallback) {
  return info.Length() > at && info[at].IsString() ? info[at].As<Napi::String>().Utf8Value() : std::string(fallback);
}

// In-place sum over all ranks, in chunks of at most INT_MAX/2 elements (MPI counts are int).
template <typename T>
void allreduce(const Napi::Env& env, T* data, size_t n, MPI_Datatype type, const std::string& what) {
  for (size_t off = 0; off < n;) {
    int count = static_cast<int>(std::min<size_t>(n - off, INT_MAX / 2));
    T* p = data + off;
    collective(env, "MPI_Allreduce", what, [&](MPI_Request* r) {
      return r ? MPI_Iallreduce(MPI_IN_PLACE, p, count, type, MPI_SUM, MPI_COMM_WORLD, r)
               : MPI_Allreduce(MPI_IN_PLACE, p, count, type, MPI_SUM, MPI_COMM_WORLD);
    });
    off += count;
  }
}

Napi::Value AllreduceF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, "allreduceF32: expected a Float32Array");
  auto a = info[0].As<Napi::Float32Array>();
  allreduce(env, a.Data(), a.ElementLength(), MPI_FLOAT, whatOf(info, 1, "allreduceF32"));
  return env.Undefined();
}

Napi::Value AllreduceF64(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, "allreduceF64: expected a Float64Array");
  auto a = info[0].As<Napi::Float64Array>();
  allreduce(env, a.Data(), a.ElementLength(), MPI_DOUBLE, whatOf(info, 1, "allreduceF64"));
  return env.Undefined();
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  collective(env, "MPI_Barrier", whatOf(info, 0, "barrier"),
             [&](MPI_Request* r) { return r ? MPI_Ibarrier(MPI_COMM_WORLD, r) : MPI_Barrier(MPI_COMM_WORLD); });
  return env.Undefined();
}

int bcast(void* buf, int count, MPI_Datatype type, int root, MPI_Request* r) {
  return r ? MPI_Ibcast(buf, count, type, root, MPI_COMM_WORLD, r) : MPI_Bcast(buf, count, type, root, MPI_COMM_WORLD);
}

// bcastBytes(bytes | null, root, what?): root's bytes on every rank (lengths travel first).
Napi::Value BcastBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  int root = info[1].As<Napi::Number>().Int32Value();
  if (root < 0 || root >= worldSize) throw Napi::RangeError::New(env, "bcastBytes: root out of range");
  const std::string what = whatOf(info, 2, "bcastBytes");
  int64_t len = 0;
  if (worldRank == root) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(env, "bcastBytes: the root passes a Uint8Array");
    len = static_cast<int64_t>(info[0].As<Napi::Uint8Array>().ByteLength());
  }
  collective(env, "MPI_Bcast", what, [&](MPI_Request* r) { return bcast(&len, 1, MPI_INT64_T, root, r); });
  if (len > INT_MAX) throw Napi::RangeError::New(env, "bcastBytes: more than 2 GiB");
  Napi::Uint8Array out = Napi::Uint8Array::New(env, static_cast<size_t>(len));
  if (worldRank == root && len > 0) memcpy(out.Data(), info[0].As<Napi::Uint8Array>().Data(), static_cast<size_t>(len));
  collective(env, "MPI_Bcast", what, [&](MPI_Request* r) { return bcast(out.Data(), static_cast<int>(len), MPI_BYTE, root, r); });
  return out;
}

// gatherBytes(bytes, root, what?): on root, every rank's bytes in rank order; elsewhere null.
Napi::Value GatherBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "gatherBytes: expected a Uint8Array");
  int root = info[1].As<Napi::Number>().Int32Value();
  if (root < 0 || root >= worldSize) throw Napi::RangeError::New(env, "gatherBytes: root out of range");
  const std::string what = whatOf(info, 2, "gatherBytes");
  auto mine = info[0].As<Napi::Uint8Array>();
  if (mine.ByteLength() > INT_MAX) throw Napi::RangeError::New(env, "gatherBytes: more than 2 GiB");
  int len = static_cast<int>(mine.ByteLength());
  std::vector<int> lens(worldRank == root ? worldSize : 0), offs(lens.size());
  collective(env, "MPI_Gather", what, [&](MPI_Request* r) {
    return r ? MPI_Igather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, MPI_COMM_WORLD, r)
             : MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, MPI_COMM_WORLD);
  });
  int64_t total = 0;
  for (size_t r = 0; r < lens.size(); r++) {
    offs[r] = static_cast<int>(total);
    total += lens[r];
  }
  if (total > INT_MAX) throw Napi::RangeError::New(env, "gatherBytes: more than 2 GiB in all");
  std::vector<uint8_t> all(static_cast<size_t>(total));
  collective(env, "MPI_Gatherv", what, [&](MPI_Request* r) {
    return r ? MPI_Igatherv(mine.Data(), len, MPI_BYTE, all.data(), lens.data(), offs.data(), MPI_BYTE, root, MPI_COMM_WORLD, r)
             : MPI_Gatherv(mine.Data(), len, MPI_BYTE, all.data(), lens.data(), offs.data(), MPI_BYTE, root, MPI_COMM_WORLD);
  });
  if (worldRank != root) return env.Null();
  Napi::Array out = Napi::Array::New(env, worldSize);
  for (int r = 0; r < worldSize; r++) {
    auto b = Napi::Uint8Array::New(env, static_cast<size_t>(lens[r]));
    if (lens[r] > 0) memcpy(b.Data(), all.data() + offs[r], static_cast<size_t>(lens[r]));
    out.Set(r, b);
  }
  return out;
}

// setTimeout(seconds): the watchdog's deadline for every later collective; 0 turns it off.
Napi::Value SetTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double s = info[0].As<Napi::Number>().DoubleValue();
  if (!(s >= 0)) throw Napi::RangeError::New(env, "setTimeout: expected seconds >= 0");
  timeoutSeconds = s;
  return env.Undefined();
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
  exports.Set("setTimeout", Napi::Function::New(env, SetTimeout));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("wtime", Napi::Function::New(env, Wtime));
  return exports;
}

}  // namespace

NODE_API_MODULE(cola_mpi, Module)
