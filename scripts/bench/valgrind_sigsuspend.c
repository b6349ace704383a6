// LD_PRELOAD shim for running Swift binaries under valgrind 3.19 (scripts/bench/network.sh's
// instruction counts only; never loaded by the product).
//
// Why: a Swift program with an async main parks its main thread in libdispatch's
// _dispatch_sig_thread, which calls sigsuspend(2) with a mask in libdispatch's read-only data.
// Valgrind's rt_sigsuspend wrapper rewrites the caller's mask in place (it removes the signals
// valgrind reserves for itself), so it writes to a read-only page and dies with
// "VALGRIND INTERNAL ERROR: Valgrind received a signal 11 (SIGSEGV)" / "the 'impossible'
// happened: Killed by fatal signal". This shim hands the kernel (and valgrind) a writable copy of
// the mask; the call's meaning is unchanged (sigsuspend(2): the mask is only read).
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    // The kernel's sigset is _NSIG bits (8 bytes on Linux x86_64), not glibc's 128-byte sigset_t.
    return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
