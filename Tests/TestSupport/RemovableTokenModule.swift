import Foundation

/// A PKCS#11 module for fault tests that forwards to SoftHSM and can be "pulled out" and
/// "re-inserted" like a USB token or smart card (issue 6: HSM token removed while serving).
///
/// It is compiled at test time with the system C compiler against p11-kit's `pkcs11.h` (no
/// binary checked in). While the flag file exists the token reports `CKR_TOKEN_NOT_PRESENT` /
/// `CKR_DEVICE_REMOVED` for every call that needs it; when the flag goes away every session
/// opened before is closed, as a real removal does, so the product must open a new session and
/// log in again. The paths of its flag files and of SoftHSM are compiled into the module, so a
/// test process loads it in-process without touching its own environment (`setenv` at run time
/// races with every thread that reads the environment); processes that load it still need
/// `SOFTHSM2_CONF`, and ``environment`` remains for them (the compiled paths win).
public struct RemovableTokenModule: Sendable {
    /// Path of the built module (`.so`), to use as `pkcs11.module`.
    public let path: String
    /// While this file exists, the token is out.
    public let flag: String

    /// One line per login attempt that reached the token.
    public var loginLog: String { (flag as NSString).deletingLastPathComponent + "/token-logins" }

    public var environment: [String: String] {
        [
            "ROOTKEEPER_TEST_TOKEN_REMOVED": flag, "ROOTKEEPER_TEST_REAL_MODULE": SoftHSMToken.modulePath,
            "ROOTKEEPER_TEST_LOGIN_LOG": loginLog, "ROOTKEEPER_TEST_PIN_REFUSED": pinRefusedFlag,
            "ROOTKEEPER_TEST_SIGN_HOLD": signHoldFlag,
        ]
    }

    /// While this file exists, `C_Sign` does not return (a token that stops answering mid-signature).
    public var signHoldFlag: String { (flag as NSString).deletingLastPathComponent + "/token-holds-sign" }

    /// From now on every `C_Sign` hangs until ``releaseSignatures()``.
    public func holdSignatures() throws { try Data().write(to: URL(fileURLWithPath: signHoldFlag)) }
    public func releaseSignatures() throws { try FileManager.default.removeItem(atPath: signHoldFlag) }

    /// While this file exists, the token answers every login with `CKR_PIN_INCORRECT`.
    public var pinRefusedFlag: String { (flag as NSString).deletingLastPathComponent + "/token-refuses-pin" }

    /// From now on the token refuses the PIN (as another token with the same label would).
    public func refusePIN() throws { try Data().write(to: URL(fileURLWithPath: pinRefusedFlag)) }

    /// Login attempts that reached the token so far.
    public var loginAttempts: Int {
        ((try? String(contentsOfFile: loginLog, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// Compiles the module into `directory`.
    public init(in directory: TemporaryDirectory) throws {
        let source = directory.file("removable-token.c")
        path = directory.file("removable-token.so")
        flag = directory.file("token-removed")
        try Self.source.write(toFile: source, atomically: true, encoding: .utf8)
        // Each path as a C string literal (-DNAME="…", no shell involved); paths from
        // TemporaryDirectory hold neither quotes nor backslashes.
        let compiled = [
            ("REMOVED_FLAG", flag), ("REAL_MODULE", SoftHSMToken.modulePath), ("LOGIN_LOG", loginLog),
            ("PIN_REFUSED", pinRefusedFlag), ("SIGN_HOLD", signHoldFlag),
        ]
        for (_, value) in compiled where value.contains("\"") || value.contains("\\") {
            throw TestFailure("cannot compile the path \(value) into the removable token module")
        }
        let defines = compiled.map { "-D\($0.0)=\"\($0.1)\"" }
        let compile = try ExternalTool("cc").run(
            ["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-I/usr/include/p11-kit-1"] + defines + [source, "-o", path, "-ldl"])
        guard compile.succeeded else { throw TestFailure("cannot build the removable token module: \(compile.output)") }
    }

    /// Pulls the token out.
    public func remove() throws { try Data().write(to: URL(fileURLWithPath: flag)) }

    /// Puts it back (the sessions of the previous insertion are gone).
    public func reinsert() throws { try FileManager.default.removeItem(atPath: flag) }

    static let source = #"""
        /* Test-only PKCS#11 module: forwards to a real module (SoftHSM) and behaves as if the token
         * were pulled out while the file named by REMOVED_FLAG (ROOTKEEPER_TEST_TOKEN_REMOVED) exists.
         * When the file goes away the token is "re-inserted": every session opened before is closed, as
         * a real removal does, so the caller must open a new session and log in again.
         * Paths are compiled in with -D; the environment is read only for a path left undefined. */
        #include <dlfcn.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        #include <p11-kit/pkcs11.h>

        #ifndef REMOVED_FLAG
        #define REMOVED_FLAG NULL
        #endif
        #ifndef REAL_MODULE
        #define REAL_MODULE NULL
        #endif
        #ifndef LOGIN_LOG
        #define LOGIN_LOG NULL
        #endif
        #ifndef PIN_REFUSED
        #define PIN_REFUSED NULL
        #endif
        #ifndef SIGN_HOLD
        #define SIGN_HOLD NULL
        #endif

        static const char *setting(const char *compiled, const char *variable) {
            return compiled != NULL ? compiled : getenv(variable);
        }

        static CK_FUNCTION_LIST_PTR real;
        static CK_FUNCTION_LIST shim;
        static int was_removed;

        static int removed(void) {
            const char *flag = setting(REMOVED_FLAG, "ROOTKEEPER_TEST_TOKEN_REMOVED");
            int now = flag != NULL && access(flag, F_OK) == 0;
            if (now) {
                was_removed = 1;
            } else if (was_removed) {
                /* Re-inserted: the sessions of the old insertion are gone. */
                CK_SLOT_ID slots[16];
                CK_ULONG count = 16;
                if (real->C_GetSlotList(CK_TRUE, slots, &count) == CKR_OK)
                    for (CK_ULONG i = 0; i < count; i++) real->C_CloseAllSessions(slots[i]);
                was_removed = 0;
            }
            return now;
        }

        static CK_RV shim_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
            return removed() ? CKR_TOKEN_NOT_PRESENT : real->C_GetTokenInfo(slot, info);
        }
        static CK_RV shim_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
            if (removed() && present) { *count = 0; return CKR_OK; }
            return real->C_GetSlotList(present, list, count);
        }
        static CK_RV shim_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void *app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR session) {
            return removed() ? CKR_TOKEN_NOT_PRESENT : real->C_OpenSession(slot, flags, app, notify, session);
        }
        static CK_RV shim_Login(CK_SESSION_HANDLE session, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG length) {
            /* Every login attempt that reaches the token is counted: the token counts PIN failures too. */
            const char *log = setting(LOGIN_LOG, "ROOTKEEPER_TEST_LOGIN_LOG");
            if (log != NULL && !removed()) {
                FILE *file = fopen(log, "a");
                if (file != NULL) { fputs("login\n", file); fclose(file); }
            }
            if (removed()) return CKR_DEVICE_REMOVED;
            /* A different token with the same label came back: it refuses our PIN. */
            const char *refuse = setting(PIN_REFUSED, "ROOTKEEPER_TEST_PIN_REFUSED");
            if (refuse != NULL && access(refuse, F_OK) == 0) return CKR_PIN_INCORRECT;
            return real->C_Login(session, type, pin, length);
        }
        static CK_RV shim_SignInit(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
            return removed() ? CKR_DEVICE_REMOVED : real->C_SignInit(session, mechanism, key);
        }
        static CK_RV shim_Sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG length, CK_BYTE_PTR signature, CK_ULONG_PTR signatureLength) {
            /* A token that stops answering mid-signature: hold while the flag file exists. */
            const char *hold = setting(SIGN_HOLD, "ROOTKEEPER_TEST_SIGN_HOLD");
            while (hold != NULL && access(hold, F_OK) == 0) usleep(50000);
            return removed() ? CKR_DEVICE_REMOVED : real->C_Sign(session, data, length, signature, signatureLength);
        }
        static CK_RV shim_FindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR template, CK_ULONG count) {
            return removed() ? CKR_DEVICE_REMOVED : real->C_FindObjectsInit(session, template, count);
        }

        CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
            if (real == NULL) {
                const char *path = setting(REAL_MODULE, "ROOTKEEPER_TEST_REAL_MODULE");
                void *module = dlopen(path ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
                if (module == NULL) return CKR_GENERAL_ERROR;
                CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(module, "C_GetFunctionList");
                if (get == NULL || get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
                shim = *real;
                shim.C_GetTokenInfo = shim_GetTokenInfo;
                shim.C_GetSlotList = shim_GetSlotList;
                shim.C_OpenSession = shim_OpenSession;
                shim.C_Login = shim_Login;
                shim.C_SignInit = shim_SignInit;
                shim.C_Sign = shim_Sign;
                shim.C_FindObjectsInit = shim_FindObjectsInit;
            }
            *list = &shim;
            return CKR_OK;
        }
        """#
}
