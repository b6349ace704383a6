/// One documented configuration key: its YAML path, its environment variable and how to apply a
/// textual value. The single table both the YAML loader and the environment overrides use, so a
/// key cannot exist in one and not the other.
public struct ConfigurationKey: Sendable {
    /// Dotted YAML path, e.g. `https.port`.
    public let path: String
    /// One-line description (mirrored in docs/configuration.md).
    public let summary: String
    let apply: @Sendable (inout ApplianceConfiguration, String) throws -> Void
    /// Whether YAML may give a list (joined with commas before `apply`), e.g. `store.hosts`.
    let acceptsList: Bool

    init(
        path: String, summary: String, acceptsList: Bool = false,
        apply: @escaping @Sendable (inout ApplianceConfiguration, String) throws -> Void
    ) {
        self.path = path
        self.summary = summary
        self.acceptsList = acceptsList
        self.apply = apply
    }

    /// The environment variable overriding this key: `ROOTKEEPER_` + path with dots as `_`.
    public var environmentVariable: String {
        "ROOTKEEPER_" + path.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    static func string(_ path: String, _ summary: String, _ set: @escaping @Sendable (inout ApplianceConfiguration, String) -> Void)
        -> ConfigurationKey
    {
        ConfigurationKey(path: path, summary: summary) { config, text in set(&config, text) }
    }

    static func int(_ path: String, _ summary: String, _ set: @escaping @Sendable (inout ApplianceConfiguration, Int) -> Void) -> ConfigurationKey {
        ConfigurationKey(path: path, summary: summary) { config, text in
            guard let value = Int(text) else { throw ApplianceError.configuration(path, "expected an integer, got \"\(text)\"") }
            set(&config, value)
        }
    }

    static func seconds(_ path: String, _ summary: String, _ set: @escaping @Sendable (inout ApplianceConfiguration, Double) -> Void)
        -> ConfigurationKey
    {
        ConfigurationKey(path: path, summary: summary) { config, text in
            guard let value = Double(text), value.isFinite else {
                throw ApplianceError.configuration(path, "expected a number of seconds, got \"\(text)\"")
            }
            set(&config, value)
        }
    }

    /// Every key the appliance understands.
    public static let all: [ConfigurationKey] =
        [
            .string("state_directory", "root of the state directory layout") { $0.stateDirectory = $1 },
            .string("https.address", "HTTPS (EST, agent API) bind address") { $0.https.address = $1 },
            .int("https.port", "HTTPS port (0 = any free port)") { $0.https.port = $1 },
            .string("http.address", "HTTP (CRL, OCSP, CA certs, health, metrics) bind address") { $0.http.address = $1 },
            .int("http.port", "HTTP port (0 = any free port)") { $0.http.port = $1 },
            .int("limits.max_est_body_bytes", "largest EST request body in bytes; larger gets 413") { $0.limits.maxESTBodyBytes = $1 },
            .int("limits.max_ocsp_request_bytes", "largest OCSP POST body in bytes; larger gets 413") { $0.limits.maxOCSPRequestBytes = $1 },
            .int("limits.max_header_bytes", "largest request header block in bytes") { $0.limits.maxHeaderBytes = $1 },
            .seconds("limits.request_timeout_seconds", "time allowed to handle one request") { $0.limits.requestTimeoutSeconds = $1 },
            .seconds("limits.idle_timeout_seconds", "idle keep-alive connections are closed after this") { $0.limits.idleTimeoutSeconds = $1 },
            .int("limits.max_connections", "concurrent connections per listener") { $0.limits.maxConnections = $1 },
            .int("limits.enrollments_per_minute_per_source", "EST (re)enrolment requests per minute per source address; 0 = off") {
                $0.limits.enrollmentsPerMinutePerSource = $1
            },
            .int("limits.enrollments_per_minute_per_agent", "simpleenroll requests per minute per agent; 0 = off") {
                $0.limits.enrollmentsPerMinutePerAgent = $1
            },
            .int("limits.renewals_per_hour_per_agent", "simplereenroll requests per hour per agent; 0 = off") {
                $0.limits.renewalsPerHourPerAgent = $1
            },
            .int("enrollment.retry_after_seconds", "Retry-After for pending enrolments (202)") { $0.enrollment.retryAfterSeconds = $1 },
            .int("enrollment.pending_expiry_days", "tokenless registrations not approved within this many days expire") {
                $0.enrollment.pendingExpiryDays = $1
            },
            .int("enrollment.max_pending_per_source", "pending registrations one source address may hold; 0 = off") {
                $0.enrollment.maxPendingPerSource = $1
            },
            .string("log_level", "trace|debug|info|notice|warning|error|critical") { $0.logLevel = $1 },
            .string("user", "unprivileged account to drop to after binding when started as root") { $0.user = $1.isEmpty ? nil : $1 },
            .string("ca.organization", "O= of issued certificates") { $0.ca.organization = $1 },
            .string("ca.agents_unit", "OU= of agent certificates") { $0.ca.agentsUnit = $1 },
            .string("ca.intermediate_name", "CN=<name> Intermediate CA of the CSR init writes") { $0.ca.intermediateName = $1 },
            .string("ca.intermediate_algorithm", "p256|p384|rsa2048|rsa3072|rsa4096") { $0.ca.intermediateAlgorithm = $1 },
            .int("ca.agent_validity_days", "agent certificate lifetime in days") { $0.ca.agentValidityDays = $1 },
            .string("ca.public_url", "base URL of the HTTP listener for CRL/OCSP/caIssuers URLs") { $0.ca.publicURL = $1 },
            .int("ca.renew_before_days", "agents may renew from this many days before expiry") { $0.ca.renewBeforeDays = $1 },
            .int("ca.revoke_superseded_after_hours", "revoke superseded certificates after this many hours; 0 = off") {
                $0.ca.revokeSupersededAfterHours = $1
            },
            .int("ca.crl_next_update_hours", "nextUpdate of the intermediate CRL in hours") { $0.ca.crlNextUpdateHours = $1 },
            .string("server.fqdn", "CN and first DNS name of the server certificate") { $0.server.fqdn = $1 },
            .string("server.dns_names", "further DNS names of the server certificate, comma-separated") { $0.server.dnsNames = $1 },
            .string("server.ip_addresses", "IP addresses of the server certificate, comma-separated") { $0.server.ipAddresses = $1 },
            .string("pkcs11.module", "PKCS#11 module of a token-held intermediate key") { $0.pkcs11.module = $1 },
            .string("pkcs11.token", "token label/serial/URI; set to use a token-held intermediate key") { $0.pkcs11.token = $1 },
            ConfigurationKey(path: "console.enabled", summary: "run the administrators' web console listener (true|false)") { config, text in
                switch text.lowercased() {
                case "true", "yes", "on": config.console.enabled = true
                case "false", "no", "off": config.console.enabled = false
                default: throw ApplianceError.configuration("console.enabled", "expected true or false, got \"\(text)\"")
                }
            },
            .string("console.address", "web console bind address (loopback by default)") { $0.console.listener.address = $1 },
            .int("console.port", "web console HTTPS port (0 = any free port)") { $0.console.listener.port = $1 },
        ] + ApplianceConfiguration.storeKeys

    static let byPath: [String: ConfigurationKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.path, $0) })
}
