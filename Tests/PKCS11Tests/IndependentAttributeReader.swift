import Foundation
import TestSupport

/// Reads one attribute of a private key on a token by calling the PKCS#11 module from Python
/// (ctypes, not our wrapper), the way an attacker with the user PIN would try to export it.
/// `pkcs11-tool --read-object --type privkey` is no such check: OpenSC refuses to read any private
/// key ("reading private keys not (yet) supported") whatever the token says.
///
/// The script also creates a session EC key that is extractable and not sensitive and reads its
/// `CKA_VALUE` back (`control`), so a refusal of the real key is shown to come from that key's
/// attributes (PKCS#11 v2.40 §4.1.2: `CKR_ATTRIBUTE_SENSITIVE` when it is sensitive or not
/// extractable) rather than from the reader.
enum IndependentAttributeReader {
    struct Reading: Equatable {
        /// `CKR 0x…`, followed by the value in hex when the token returned one.
        var key: String
        var control: String
    }

    static let ckrOK = "CKR 0x0"
    static let ckrAttributeSensitive = "CKR 0x11"

    static func read(attribute: UInt, ofPrivateKey label: String, on token: SoftHSMToken, module: String) throws -> Reading {
        let result = try ExternalTool("python3").run(
            ["-c", script, module, token.label, label, String(attribute, radix: 16)],
            stdin: Data(token.userPIN.utf8), environment: token.environment)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        guard result.succeeded, let key = lines.first(where: { $0.hasPrefix("key: ") }),
            let control = lines.first(where: { $0.hasPrefix("control: ") })
        else {
            throw TestFailure("the independent PKCS#11 reader failed (\(result.status)): \(result.output)")
        }
        return Reading(key: String(key.dropFirst(5)), control: String(control.dropFirst(9)))
    }

    /// The control key's CKA_VALUE as the script writes it.
    static let controlValueHex = Data(1...48).map { String(format: "%02x", $0) }.joined()

    private static let script = #"""
        import ctypes, sys
        # argv: module, token label, private key label, attribute type (hex); the PIN comes on stdin.
        lib = ctypes.CDLL(sys.argv[1])
        U = ctypes.c_ulong
        class Attr(ctypes.Structure):
            _fields_ = [("type", U), ("value", ctypes.c_void_p), ("len", U)]
        def ok(rv, what):
            if rv != 0: print(f"{what}: CKR 0x{rv:x}"); sys.exit(2)
        keep = []  # the buffers a template points into must outlive the call
        def attr(kind, data):
            keep.append(data)
            return Attr(kind, ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p), len(data))
        def ulong(value): return U(value).value.to_bytes(ctypes.sizeof(U), sys.byteorder)
        ok(lib.C_Initialize(None), "C_Initialize")
        count = U(0); ok(lib.C_GetSlotList(1, None, ctypes.byref(count)), "C_GetSlotList")
        slots = (U * count.value)(); ok(lib.C_GetSlotList(1, slots, ctypes.byref(count)), "C_GetSlotList")
        slot = None
        for s in slots[:count.value]:
            info = ctypes.create_string_buffer(1024); ok(lib.C_GetTokenInfo(U(s), info), "C_GetTokenInfo")
            if info.raw[:32].decode().rstrip() == sys.argv[2]: slot = s
        if slot is None: print("no token " + sys.argv[2]); sys.exit(2)
        session = U(0); ok(lib.C_OpenSession(U(slot), U(4), None, None, ctypes.byref(session)), "C_OpenSession")
        pin = sys.stdin.buffer.read().strip()
        ok(lib.C_Login(session, U(1), pin, U(len(pin))), "C_Login")
        template = (Attr * 2)(attr(0, ulong(3)), attr(3, sys.argv[3].encode()))  # CKA_CLASS private key, CKA_LABEL
        ok(lib.C_FindObjectsInit(session, template, U(2)), "C_FindObjectsInit")
        handle = U(0); found = U(0); ok(lib.C_FindObjects(session, ctypes.byref(handle), U(1), ctypes.byref(found)), "C_FindObjects")
        lib.C_FindObjectsFinal(session)
        if found.value != 1: print("no private key " + sys.argv[3]); sys.exit(2)
        def read(handle, kind):
            attribute = (Attr * 1)(Attr(kind, None, 0))
            rv = lib.C_GetAttributeValue(session, handle, attribute, U(1))
            if rv != 0: return f"CKR 0x{rv:x}"
            buffer = ctypes.create_string_buffer(attribute[0].len)
            attribute[0].value = ctypes.cast(buffer, ctypes.c_void_p)
            rv = lib.C_GetAttributeValue(session, handle, attribute, U(1))
            return f"CKR 0x{rv:x} " + buffer.raw.hex()
        print("key: " + read(handle, int(sys.argv[4], 16)))
        # Control: the same read of a session EC key created extractable and not sensitive returns its
        # value, so a refusal above comes from the key's attributes, not from this reader.
        value = bytes(range(1, 49))
        control = (Attr * 7)(attr(0, ulong(3)), attr(0x100, ulong(3)), attr(1, b"\x00"), attr(0x103, b"\x00"), attr(0x162, b"\x01"),
                             attr(0x180, bytes.fromhex("06052b81040022")), attr(0x11, value))
        created = U(0); ok(lib.C_CreateObject(session, control, U(7), ctypes.byref(created)), "C_CreateObject")
        print("control: " + read(created, 0x11))
        """#
}
