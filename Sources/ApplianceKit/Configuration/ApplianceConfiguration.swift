/// Everything `appliance serve` can be told, with the defaults of docs/configuration.md.
///
/// A plain value (docs/conventions.md#appliance-configuration): loading (`ApplianceConfiguration+YAML.swift`), environment
/// overrides (`+Environment.swift`) and validation (`+Validation.swift`) live in separate files.
/// Every key is listed, with its YAML path and environment variable, in ``ConfigurationKey/all``
/// and in `docs/configuration.md`.
public struct ApplianceConfiguration: Sendable, Equatable {
    /// `state_directory` — root of the state layout (docs/files.md#state-directory). Env `ROOTKEEPER_STATE_DIRECTORY`.
    public var stateDirectory: String = "/var/lib/rootkeeper"
    /// `https` — the EST + agent API listener.
    public var https = Listener(address: "0.0.0.0", port: 8443)
    /// `http` — the CRL / OCSP / CA-certificates / health / metrics listener.
    public var http = Listener(address: "0.0.0.0", port: 8080)
    /// `limits` — request and connection limits applied to both listeners.
    public var limits = Limits()
    /// `enrollment` — EST enrolment behaviour.
    public var enrollment = Enrollment()
    /// `log_level` — trace, debug, info, notice, warning, error or critical. Env `ROOTKEEPER_LOG_LEVEL`.
    public var logLevel: String = "info"
    /// `user` — unprivileged account `serve` drops to after binding when started as root.
    public var user: String?
    /// `ca` — names and policy of the intermediate CA and what it issues.
    public var ca = CA()
    /// `server` — the appliance's own TLS server certificate.
    public var server = Server()
    /// `pkcs11` — where the intermediate key lives when it is in a token (empty: encrypted file).
    public var pkcs11 = PKCS11()
    /// `store` — SQLite (default) or a shared PostgreSQL database (`ApplianceConfiguration+Store.swift`).
    public var store = Store()
    /// `console` — the administrators' web console (docs/console.md): its own HTTPS listener,
    /// loopback by default, administrator client certificates only.
    public var console = Console()

    /// The web console listener.
    public struct Console: Sendable, Equatable {
        /// `console.enabled` — whether `serve` runs the console listener.
        public var enabled: Bool = false
        /// `console.address` / `console.port` — bind address (loopback by default) and port.
        public var listener = Listener(address: "127.0.0.1", port: 8444)
        public init() {}
    }

    public init() {}

    /// The intermediate CA.
    public struct CA: Sendable, Equatable {
        /// `ca.organization` — O= of the intermediate, server and agent certificates.
        public var organization: String = "Rootkeeper"
        /// `ca.agents_unit` — OU= of agent certificates.
        public var agentsUnit: String = "agents"
        /// `ca.intermediate_name` — `CN=<name> Intermediate CA` of the CSR `init` writes.
        public var intermediateName: String = "Rootkeeper"
        /// `ca.intermediate_algorithm` — p256, p384, rsa2048, rsa3072 or rsa4096.
        public var intermediateAlgorithm: String = "p256"
        /// `ca.agent_validity_days` — agent certificate lifetime (docs/profiles.md#agent-leaf: 90).
        public var agentValidityDays: Int = 90
        /// `ca.public_url` — base URL relying parties reach the HTTP listener at; CRL DP, OCSP and
        /// caIssuers URLs in issued certificates are built from it. Empty: http://<server.fqdn>:<http.port>.
        public var publicURL: String = ""
        /// `ca.renew_before_days` — agents may renew from this many days before expiry (docs/profiles.md#renewal-windows: 30).
        public var renewBeforeDays: Int = 30
        /// `ca.revoke_superseded_after_hours` — revoke superseded certificates this long after
        /// renewal (docs/lifecycle.md#supersession: 24); 0 turns it off.
        public var revokeSupersededAfterHours: Int = 24
        /// `ca.crl_next_update_hours` — nextUpdate of the intermediate CRL (docs/lifecycle.md#intermediate-crl: 24).
        public var crlNextUpdateHours: Int = 24
        public init() {}
    }

    /// The appliance's TLS server certificate, issued by the intermediate and rotated 30 days before expiry.
    public struct Server: Sendable, Equatable {
        /// `server.fqdn` — CN= and first DNS name.
        public var fqdn: String = "localhost"
        /// `server.dns_names` — further DNS names, comma-separated.
        public var dnsNames: String = ""
        /// `server.ip_addresses` — IP addresses in the SAN, comma-separated.
        public var ipAddresses: String = "127.0.0.1"
        public init() {}
    }

    /// A PKCS#11-held intermediate key. The PIN comes from `--pin-source`, never from here.
    public struct PKCS11: Sendable, Equatable {
        /// `pkcs11.module` — PKCS#11 module path.
        public var module: String = ""
        /// `pkcs11.token` — token label, serial or pkcs11: URI; set to use a token-held key.
        public var token: String = ""
        public init() {}
    }

    /// One listening socket.
    public struct Listener: Sendable, Equatable {
        /// `<listener>.address` — IP address to bind (`0.0.0.0` for all IPv4 interfaces).
        public var address: String
        /// `<listener>.port` — TCP port; 0 lets the OS choose (tests).
        public var port: Int
        public init(address: String, port: Int) {
            self.address = address
            self.port = port
        }
    }

    /// Limits that protect the appliance from oversized or slow clients.
    public struct Limits: Sendable, Equatable {
        /// `limits.max_est_body_bytes` — largest EST request body; larger bodies get 413. A
        /// base64 P-384 or RSA-4096 CSR is well under 4 KiB.
        public var maxESTBodyBytes: Int = 16 * 1024
        /// `limits.max_ocsp_request_bytes` — largest OCSP request body (POST); larger gets 413.
        /// A request for one certificate is ~100 bytes (RFC 6960 §4.1); 8 KiB allows batches.
        public var maxOCSPRequestBytes: Int = 8 * 1024
        /// `limits.max_header_bytes` — largest total size of a request's header block.
        public var maxHeaderBytes: Int = 16 * 1024
        /// `limits.request_timeout_seconds` — time allowed to handle one request.
        public var requestTimeoutSeconds: Double = 30
        /// `limits.idle_timeout_seconds` — an idle keep-alive connection is closed after this.
        public var idleTimeoutSeconds: Double = 60
        /// `limits.max_connections` — concurrent connections per listener; further ones wait in
        /// the kernel's accept backlog until one closes.
        public var maxConnections: Int = 1024
        /// `limits.enrollments_per_minute_per_source` — `simpleenroll` + `simplereenroll` requests
        /// one IP address may make per minute (burst of the same size); 0 turns it off. Generous,
        /// because a whole site may enrol from behind one NAT address.
        public var enrollmentsPerMinutePerSource: Int = 120
        /// `limits.enrollments_per_minute_per_agent` — `simpleenroll` requests per minute for the
        /// agent a CSR names (an agent polling a pending registration); 0 turns it off.
        public var enrollmentsPerMinutePerAgent: Int = 6
        /// `limits.renewals_per_hour_per_agent` — `simplereenroll` requests per hour by one
        /// authenticated agent; 0 turns it off.
        public var renewalsPerHourPerAgent: Int = 10
        public init() {}
    }

    /// EST enrolment behaviour.
    public struct Enrollment: Sendable, Equatable {
        /// `enrollment.retry_after_seconds` — Retry-After sent with 202 while a registration is
        /// pending approval (RFC 7030 §4.2.3), unless the CA service names its own.
        public var retryAfterSeconds: Int = 60
        /// `enrollment.pending_expiry_days` — a tokenless registration not approved within this
        /// many days expires and frees its hostname (issue #11: a request must not hold a name forever).
        public var pendingExpiryDays: Int = 7
        /// `enrollment.max_pending_per_source` — unexpired pending registrations one source
        /// address may hold; further tokenless requests are refused (403). 0 turns it off.
        public var maxPendingPerSource: Int = 20
        public init() {}
    }
}
