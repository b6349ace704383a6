import Foundation

/// What administrators can do through `DIR/admin.sock` (seam for `Registration` + `CAStore`).
/// Every call receives the caller (its uid from SO_PEERCRED) for the audit log.
public protocol AdministrationService: Sendable {
    func listAgents(caller: AdminCaller) async throws -> [AdminEntry]
    func showAgent(id: String, caller: AdminCaller) async throws -> [AdminField]
    func approveAgent(id: String, caller: AdminCaller) async throws -> String
    func rejectAgent(id: String, reason: String, caller: AdminCaller) async throws -> String
    func revokeAgent(id: String, reason: String, caller: AdminCaller) async throws -> String
    /// Creates a one-time enrolment token (optionally bound to a hostname) and returns it.
    func createToken(hostname: String?, caller: AdminCaller) async throws -> String
    func listCertificates(caller: AdminCaller) async throws -> [AdminEntry]
    func showCertificate(serial: String, caller: AdminCaller) async throws -> [AdminField]
    func revokeCertificate(serial: String, reason: String, caller: AdminCaller) async throws -> String
    func expiringCertificates(withinDays days: Int, caller: AdminCaller) async throws -> [AdminEntry]
    /// Forces a CRL now; returns a one-line summary (e.g. the CRL number).
    func generateCRL(caller: AdminCaller) async throws -> String
    /// Releases the open registration named by its ID, its agent ID or its hostname, freeing the
    /// hostname for another key or a token; returns a one-line summary.
    func releaseRegistration(id: String, reason: String, caller: AdminCaller) async throws -> String
    /// Issues a web console administrator certificate to `publicKeyPEM` (docs/console.md#administrator-certificates);
    /// returns the certificate and its chain (intermediate, root) as PEM.
    func addAdministrator(name: String, role: String, publicKeyPEM: String, caller: AdminCaller) async throws -> String
    /// One entry per administrator certificate, newest first.
    func listAdministrators(caller: AdminCaller) async throws -> [AdminEntry]
    /// Revokes every unrevoked administrator certificate of `name`.
    func revokeAdministrator(name: String, reason: String, caller: AdminCaller) async throws -> [String]
}

extension AdministrationService {
    /// Services without registrations (test doubles) cannot release one.
    public func releaseRegistration(id: String, reason: String, caller: AdminCaller) async throws -> String {
        throw ApplianceError.notWired("registration release")
    }
    public func addAdministrator(name: String, role: String, publicKeyPEM: String, caller: AdminCaller) async throws -> String {
        throw ApplianceError.notWired("administrator certificates")
    }
    public func listAdministrators(caller: AdminCaller) async throws -> [AdminEntry] {
        throw ApplianceError.notWired("administrator certificates")
    }
    public func revokeAdministrator(name: String, reason: String, caller: AdminCaller) async throws -> [String] {
        throw ApplianceError.notWired("administrator certificates")
    }
}

/// Who is calling: over the admin socket, the uid and pid the kernel reports (SO_PEERCRED); in the
/// web console, the administrator certificate's name and the client's address.
public struct AdminCaller: Sendable, Equatable, Codable {
    public var uid: UInt32
    public var pid: Int32
    /// `admin-<name>` of a console administrator (nil on the admin socket).
    public var administrator: String?
    /// The console client's address (`127.0.0.1:51234`).
    public var source: String?
    public init(uid: UInt32, pid: Int32) {
        self.uid = uid
        self.pid = pid
    }

    /// A web console administrator, authenticated by an administrator certificate.
    public init(administrator: String, source: String) {
        self.uid = UInt32(bitPattern: -1)
        self.pid = -1
        self.administrator = administrator
        self.source = source
    }

    /// The audit actor: `admin:uid=<uid>` on the socket, `console:admin-<name>@<address>` in the console.
    public var auditActor: String {
        if let administrator { return "console:\(administrator)@\(source ?? "unknown")" }
        return "admin:uid=\(uid)"
    }
}

/// One entry of a list: the ID (agent or registration ID, or serial in hex), a short summary for
/// the text line, and the same facts as named fields for `--format json` (docs/commands.md#output-for-scripts).
public struct AdminEntry: Sendable, Equatable, Codable {
    public var id: String
    public var summary: String
    /// Structured fields (camelCase names, ISO 8601 times), in display order.
    public var fields: [AdminField]
    public init(id: String, summary: String, fields: [AdminField] = []) {
        self.id = id
        self.summary = summary
        self.fields = fields
    }

    /// The entry as one JSON object: `id` and every field.
    public var jsonObject: [String: String] {
        var object = ["id": id]
        for field in fields { object[field.name] = field.value }
        return object
    }
}

/// One `name: value` line of a `show`.
public struct AdminField: Sendable, Equatable, Codable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
