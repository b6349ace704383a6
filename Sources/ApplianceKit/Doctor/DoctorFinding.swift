/// One result of `appliance doctor`: a check that passed, or a problem named together with its fix.
public struct DoctorFinding: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Nothing to do.
        case ok
        /// Works today, needs attention soon (e.g. a certificate expiring within 30 days).
        case warning
        /// `serve` would fail or serve something wrong: `doctor` exits non-zero.
        case problem
    }

    /// What was checked, e.g. `permissions`, `root CRL`.
    public var check: String
    public var status: Status
    /// What was found.
    public var message: String
    /// What to do about it (for warnings and problems).
    public var fix: String?

    public init(_ check: String, _ status: Status, _ message: String, fix: String? = nil) {
        self.check = check
        self.status = status
        self.message = message
        self.fix = fix
    }

    /// The line printed: `ok <check>: <message>` or `PROBLEM <check>: <message> (fix: <fix>)`.
    public var line: String {
        let label =
            switch status {
            case .ok: "ok"
            case .warning: "WARNING"
            case .problem: "PROBLEM"
            }
        return "\(label) \(check): \(message)" + (fix.map { " (fix: \($0))" } ?? "")
    }
}
