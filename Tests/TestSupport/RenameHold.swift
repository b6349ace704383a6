import Foundation

/// Stops a real process at one `rename(2)` so a test can SIGKILL it there — between two of its
/// writes — without any hook in the product (issue 12 part 3: the agent killed between writes).
///
/// An `LD_PRELOAD` library compiled at test time with the system C compiler: when the process
/// renames something onto a path whose last component is `holdAt`, it appends a line to
/// ``reachedFile`` and sleeps instead of renaming (until killed). Everything else is untouched.
public struct RenameHold: Sendable {
    public let library: String
    public let reachedFile: String

    public init(in directory: TemporaryDirectory) throws {
        let source = directory.file("rename-hold.c")
        library = directory.file("rename-hold.so")
        reachedFile = directory.file("rename-hold-reached")
        try Self.source.write(toFile: source, atomically: true, encoding: .utf8)
        let compile = try ExternalTool("cc").run(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", source, "-o", library, "-ldl"])
        guard compile.succeeded else { throw TestFailure("cannot build the rename hold library: \(compile.output)") }
    }

    /// The environment that makes a process stop at its rename onto `…/holdAt`.
    public func environment(holdAt name: String) -> [String: String] {
        ["LD_PRELOAD": library, "ROOTKEEPER_TEST_HOLD_RENAME": name, "ROOTKEEPER_TEST_HOLD_REACHED": reachedFile]
    }

    /// Whether a process has reached the hold (since ``reset()``).
    public var reached: Bool { FileManager.default.fileExists(atPath: reachedFile) }
    public func reset() { try? FileManager.default.removeItem(atPath: reachedFile) }

    static let source = #"""
        /* Test-only LD_PRELOAD: hold at the rename onto a path named by ROOTKEEPER_TEST_HOLD_RENAME. */
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>

        int rename(const char *from, const char *to) {
            static int (*real)(const char *, const char *);
            if (real == NULL) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
            const char *hold = getenv("ROOTKEEPER_TEST_HOLD_RENAME");
            const char *base = strrchr(to, '/');
            base = base ? base + 1 : to;
            if (hold != NULL && strcmp(base, hold) == 0) {
                const char *reached = getenv("ROOTKEEPER_TEST_HOLD_REACHED");
                FILE *file = reached ? fopen(reached, "a") : NULL;
                if (file != NULL) { fprintf(file, "%s -> %s\n", from, to); fclose(file); }
                for (;;) pause();
            }
            return real(from, to);
        }
        """#
}
