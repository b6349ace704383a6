import Foundation

/// Runs a real binary with its wall clock moved forward, so hours or months of policy time (a
/// superseded certificate's grace, an issuer's last expiry) pass without sleeping them and
/// without any clock hook in the product: the binary is the one that ships, only the C library's
/// wall-clock calls under it answer later.
///
/// The shift is a tiny shared object compiled at test time with the system C compiler and
/// preloaded (`LD_PRELOAD`, ``environment``): `clock_gettime` for the real-time clocks,
/// `gettimeofday` and `time` return the real time plus the offset compiled into it. The
/// monotonic and boot-time clocks are untouched, so timers, sleeps and timeouts (the server's
/// idle timeout, its background loops) run as they do unshifted.
///
/// Why not libfaketime (Debian `faketime`): its constructor calls `setenv("FAKETIME_SHARED")`
/// unless its wrapper set it up, which moves `environ` off the initial stack — and the Swift
/// runtime finds `argv` on Linux by walking back from `environ` (swift
/// `stdlib/public/CommandLineSupport/CommandLine.cpp`), so a preloaded Swift binary starts with
/// no arguments. Its wrapper avoids that but forks and does not pass signals on, so stopping
/// the server would orphan it.
public struct ShiftedClock: Sendable {
    /// The compiled shared object.
    public let library: String
    /// How far ahead the wall clock runs.
    public let seconds: Int

    /// The environment to start a process with (``ExternalTool/start(_:environment:stdin:)``,
    /// ``ExternalTool/run(_:stdin:environment:currentDirectory:timeout:)``). The library must be
    /// readable by the user the process runs as (a `serve` started as root re-executes itself as
    /// its service user with the same environment).
    public var environment: [String: String] { ["LD_PRELOAD": library] }

    /// Compiles the shift by `seconds` (rounded up to whole seconds) into `directory`.
    public init(ahead seconds: TimeInterval, in directory: TemporaryDirectory) throws {
        self.seconds = Int(seconds.rounded(.up))
        let source = directory.file("shifted-clock-\(self.seconds).c")
        library = directory.file("shifted-clock-\(self.seconds).so")
        try Self.source.write(toFile: source, atomically: true, encoding: .utf8)
        let compile = try ExternalTool("cc").run(
            ["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-DOFFSET=\(self.seconds)LL", source, "-o", library, "-ldl"])
        guard compile.succeeded else { throw TestFailure("cannot build the shifted clock: \(compile.output)") }
        chmod(library, 0o755)
    }

    static let source = #"""
        /* Test-only: the wall clock of the process this is preloaded into runs OFFSET seconds ahead.
         * Monotonic and boot-time clocks are left alone. */
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stddef.h>
        #include <sys/time.h>
        #include <time.h>

        static int (*real_clock_gettime)(clockid_t, struct timespec *);

        int clock_gettime(clockid_t id, struct timespec *now) {
            if (real_clock_gettime == NULL)
                real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
            int result = real_clock_gettime(id, now);
            if (result == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) now->tv_sec += OFFSET;
            return result;
        }

        int gettimeofday(struct timeval *restrict now, void *restrict zone) {
            (void)zone;
            struct timespec spec;
            int result = clock_gettime(CLOCK_REALTIME, &spec);
            if (result == 0) {
                now->tv_sec = spec.tv_sec;
                now->tv_usec = spec.tv_nsec / 1000;
            }
            return result;
        }

        time_t time(time_t *out) {
            struct timespec spec;
            if (clock_gettime(CLOCK_REALTIME, &spec) != 0) return (time_t)-1;
            if (out != NULL) *out = spec.tv_sec;
            return spec.tv_sec;
        }
        """#
}
