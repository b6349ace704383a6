import CAStore
import Foundation
import PKICore
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// `appliance doctor`: the checks `serve` makes at start-up and `/health` reports while it runs,
/// available before starting, each failure named with its fix. It changes nothing: the key is
/// only decrypted in memory, the store is opened read-only, the ports are bound and released.
public struct ApplianceDoctor: Sendable {
    public var configuration: ApplianceConfiguration
    /// The uid `serve` runs as (the configured `user` when started as root, else the current user).
    public var servingUID: uid_t
    /// The passphrase (file key) or PIN (token key), read the way `serve` reads it.
    public var secret: @Sendable () throws -> SecretBytes
    public var clock: any PKIClock
    /// A certificate or CRL expiring sooner than this is a warning.
    public var expiryWarning: TimeInterval = 30 * 86_400
    /// The root CRL is renewed by an offline ceremony: warn earlier than for anything automatic.
    public var rootCRLWarning: TimeInterval = 14 * 86_400

    public init(
        configuration: ApplianceConfiguration, servingUID: uid_t, secret: @escaping @Sendable () throws -> SecretBytes,
        clock: any PKIClock = SystemClock()
    ) {
        self.configuration = configuration
        self.servingUID = servingUID
        self.secret = secret
        self.clock = clock
    }

    private var state: StateDirectory { StateDirectory(path: configuration.stateDirectory) }

    /// Runs every check; the findings are in a fixed order.
    public func run() -> [DoctorFinding] {
        var findings = [DoctorFinding("configuration", .ok, "valid (state directory \(configuration.stateDirectory))")]
        if configuration.ca.renewBeforeDays >= configuration.ca.agentValidityDays {
            // Every agent is inside its window from issuance: the daemons renew at every check.
            findings.append(
                DoctorFinding(
                    "renewal window", .warning,
                    "ca.renew_before_days (\(configuration.ca.renewBeforeDays)) is not below ca.agent_validity_days (\(configuration.ca.agentValidityDays)): agents are due from the moment they are issued and renew at every check",
                    fix: "set ca.renew_before_days to about a third of ca.agent_validity_days"))
        }
        findings += checkStateDirectory()
        guard !findings.contains(where: { $0.check == "state directory" && $0.status == .problem }) else { return findings }
        findings.append(checkPermissions())
        let certificates: (intermediate: Certificate, root: Certificate, previous: [Certificate])
        do {
            certificates = try IntermediateKeyLoader.loadCertificates(state)
            findings.append(
                DoctorFinding("certificates", .ok, "intermediate \(certificates.intermediate.subject), root \(certificates.root.subject)"))
        } catch {
            findings.append(
                DoctorFinding(
                    "certificates", .problem, "\(error)",
                    fix: "install the ceremony's output: appliance intermediate install --from <media>/intermediate-cert --root-fingerprint <SHA-256>"
                ))
            return findings + [checkStore()] + checkPorts()
        }
        findings.append(
            checkExpiry(
                "intermediate certificate", certificates.intermediate.notValidAfter,
                fix: "renew the intermediate (Runbooks/intermediate-renewal.md)"))
        findings.append(
            checkExpiry(
                "root certificate", certificates.root.notValidAfter,
                fix: "plan a new root and migrate the agents (Runbooks/root-ceremony.md)"))
        findings.append(checkKey(certificates.intermediate, retiring: certificates.previous))
        findings.append(checkStore())
        findings += checkPorts()
        findings.append(
            checkCRL(
                "root CRL", path: state.path("crl", "root.crl"), issuer: certificates.root, warning: rootCRLWarning,
                fix: "hold the root CRL ceremony (Runbooks/root-crl-reissue.md), then appliance crl install-root --from <media>/crl"))
        findings.append(
            checkCRL(
                "intermediate CRL", path: state.path("crl", "intermediate.crl"), issuer: certificates.intermediate,
                warning: 0, missingIsOK: true,
                fix: "start appliance serve: it publishes a fresh CRL at start and before nextUpdate"))
        return findings
    }

    // MARK: Checks

    func checkStateDirectory() -> [DoctorFinding] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: state.root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return [
                DoctorFinding(
                    "state directory", .problem, "\(state.root.path) does not exist",
                    fix: "create it with appliance init --state-dir \(state.root.path) (or correct state_directory)")
            ]
        }
        do {
            try ProcessHardening.checkStateOwner(state.root.path, serving: servingUID, user: configuration.user)
        } catch {
            let reason = (error as? ApplianceError)?.reason ?? "\(error)"
            return [
                DoctorFinding("state directory", .problem, reason, fix: "chown -R \(configuration.user ?? String(servingUID)): \(state.root.path)")
            ]
        }
        return [DoctorFinding("state directory", .ok, "\(state.root.path) belongs to uid \(servingUID)")]
    }

    func checkPermissions() -> DoctorFinding {
        do {
            try state.checkPermissions()
        } catch {
            let reason = (error as? ApplianceError)?.reason ?? "\(error)"
            return DoctorFinding("permissions", .problem, reason, fix: "chmod 700 on private directories, chmod 600 on keys (as the message says)")
        }
        return DoctorFinding("permissions", .ok, "private key directories 0700, keys not readable by group or other")
    }

    func checkExpiry(_ what: String, _ notAfter: Date, fix: String) -> DoctorFinding {
        let now = clock.now()
        if notAfter <= now { return DoctorFinding(what, .problem, "expired at \(Self.format(notAfter))", fix: fix) }
        if notAfter.timeIntervalSince(now) < expiryWarning {
            return DoctorFinding(what, .warning, "expires at \(Self.format(notAfter))", fix: fix)
        }
        return DoctorFinding(what, .ok, "valid until \(Self.format(notAfter))")
    }

    func checkKey(_ intermediate: Certificate, retiring: [Certificate]) -> DoctorFinding {
        let usesToken = !configuration.pkcs11.token.isEmpty
        let what = usesToken ? "token \(configuration.pkcs11.token)" : "the key file \(state.intermediateKey)"
        let secret: SecretBytes
        do {
            secret = try self.secret()
        } catch {
            return DoctorFinding(
                "key", .problem, "cannot read the \(usesToken ? "PIN" : "passphrase"): \(error)",
                fix: usesToken
                    ? "give --pin-source as serve gets it" : "give --passphrase-file (0600, owned by the user running doctor) as serve gets it")
        }
        do {
            let token = usesToken ? PKCS11KeyLocation(modulePath: configuration.pkcs11.module, token: configuration.pkcs11.token) : nil
            let keys = try IntermediateKeyLoader.loadIssuerKeys(state, current: intermediate, retiring: retiring, secret: secret, token: token)
            guard keys.current.publicKey == intermediate.publicKey else {
                return DoctorFinding(
                    "key", .problem, "\(what) does not hold the key of the installed intermediate certificate",
                    fix: "restore the key that signed the CSR, or run a new intermediate ceremony")
            }
        } catch {
            return DoctorFinding(
                "key", .problem, "cannot use \(what): \(error)",
                fix: usesToken
                    ? "check that the token is connected, pkcs11.module and pkcs11.token are right and the PIN is current"
                    : "check that the key file is readable by this user and the passphrase is the one given at appliance init")
        }
        return DoctorFinding("key", .ok, "\(what) unlocks and matches the intermediate certificate")
    }

    func checkStore() -> DoctorFinding {
        if configuration.store.kind == .postgresql {
            do { _ = try configuration.postgreSQLConfiguration() } catch {
                return DoctorFinding("store", .problem, "\(error)", fix: "correct the store: section (docs/configuration.md#store)")
            }
            return DoctorFinding("store", .ok, "PostgreSQL: the store: section is complete and its password file private; serve connects at start")
        }
        let path = state.path("db", "rootkeeper.sqlite")
        guard FileManager.default.fileExists(atPath: path) else {
            return DoctorFinding("store", .ok, "\(path) does not exist yet; serve creates it at first start")
        }
        do {
            _ = try SQLiteStore(path: path, options: .init(readOnly: true))
        } catch {
            return DoctorFinding(
                "store", .problem, "\(error)",
                fix: "start serve once to migrate it, or restore the state from a backup (Runbooks/backup-and-restore.md)")
        }
        return DoctorFinding("store", .ok, "\(path) opens and its migrations are current")
    }

    func checkPorts() -> [DoctorFinding] {
        [("HTTPS port", configuration.https.address, configuration.https.port), ("HTTP port", configuration.http.address, configuration.http.port)]
            .map { name, address, port in
                if let failure = Self.bindFailure(address: address, port: port) {
                    return DoctorFinding(
                        name, .problem, "cannot bind \(address):\(port): \(failure)",
                        fix: port < 1024 && port != 0
                            ? "use a port above 1023, or grant CAP_NET_BIND_SERVICE in the systemd unit"
                            : "stop what listens there (another appliance?) or choose another port in the configuration")
                }
                return DoctorFinding(name, .ok, "\(address):\(port) can be bound")
            }
    }

    func checkCRL(_ what: String, path: String, issuer: Certificate, warning: TimeInterval, missingIsOK: Bool = false, fix: String) -> DoctorFinding {
        guard let data = FileManager.default.contents(atPath: path) else {
            if missingIsOK && !FileManager.default.fileExists(atPath: path) {
                return DoctorFinding(what, .ok, "not published yet; serve publishes it at start")
            }
            return DoctorFinding(what, .problem, "\(path) is missing or unreadable", fix: fix)
        }
        let crl: CertificateRevocationList
        do {
            crl = try CertificateRevocationList(derEncoded: Array(data))
        } catch {
            return DoctorFinding(what, .problem, "\(path) is not a DER CRL: \(error)", fix: fix)
        }
        guard crl.isSignatureValid(for: issuer) else {
            return DoctorFinding(what, .problem, "\(path) is not signed by \(issuer.subject)", fix: fix)
        }
        let nextUpdate = crl.tbsCertList.nextUpdate
        let now = clock.now()
        if nextUpdate <= now {
            return DoctorFinding(what, .problem, "CRL \(crl.tbsCertList.crlNumber) expired at \(Self.format(nextUpdate)) (nextUpdate)", fix: fix)
        }
        if nextUpdate.timeIntervalSince(now) < warning {
            return DoctorFinding(what, .warning, "CRL \(crl.tbsCertList.crlNumber) expires at \(Self.format(nextUpdate))", fix: fix)
        }
        return DoctorFinding(what, .ok, "CRL \(crl.tbsCertList.crlNumber) valid until \(Self.format(nextUpdate))")
    }

    // MARK: Helpers

    /// Binds (and releases) a TCP socket at `address:port`; the error, or nil when it could be bound.
    static func bindFailure(address: String, port: Int) -> String? {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address, String(port), &hints, &result)
        guard status == 0, let info = result else { return "cannot resolve: \(String(cString: gai_strerror(status)))" }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        // As the server does (SO_REUSEADDR): only a live listener makes the port unavailable.
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { return String(cString: strerror(errno)) }
        return nil
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
