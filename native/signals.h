// Asynchronous signals are held back while the addon runs, on the calling thread and
// on the OpenMP workers it starts (they inherit the mask of the thread that creates
// them, always one inside a call). Why: oneDNN's generated f32 GEMM kernels (the
// `gemm:jit` products, through 3.11; Debian 12 ships 2.6.3) point rsp at a heap
// workspace while they run, so a signal handled on that thread pushes its frame into
// the heap and corrupts it (uxlfoundation/oneDNN issue #4845, fixed by PR #4855).
// Node handles signals on the main thread: `node --cpu-prof`'s SIGPROF aborted every
// run at 512 x 512 x 512 with "corrupted size vs. prev_size", and libuv's SIGINT,
// SIGWINCH and SIGCHLD handlers could do the same to a training run. A held signal is
// delivered when the call returns (at most one product later). Faults (SIGSEGV,
// SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS) are never held: blocking a
// synchronous fault is undefined.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace cola {

inline const sigset_t& asyncSignals() {
  static const sigset_t set = [] {
    sigset_t s;
    sigfillset(&s);
    for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&s, sync);
    return s;
  }();
  return set;
}

// Holds asynchronous signals on this thread for its lifetime.
class SignalsHeld {
 public:
  SignalsHeld() { pthread_sigmask(SIG_BLOCK, &asyncSignals(), &saved_); }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t saved_;
};

}  // namespace cola
