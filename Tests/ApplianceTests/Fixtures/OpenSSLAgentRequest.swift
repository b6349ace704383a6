import Foundation
import TestSupport
import Testing

/// An agent key and CSR made with openssl (CN `agent-<host>-<uuid>`), reused across attempts.
struct OpenSSLAgentRequest {
    let hostname: String
    let uuid: String
    let key: String
    let csrBase64: String

    init(hostname: String, in work: TemporaryDirectory, uuid: String = UUID().uuidString.lowercased(), name: String? = nil) throws {
        let name = name ?? hostname
        self.hostname = hostname
        self.uuid = uuid
        key = work.file("\(name).key")
        csrBase64 = work.file("\(name).b64")
        let openssl = try ExternalTool("openssl")
        let made = try openssl.run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-subj", "/CN=agent-\(hostname)-\(uuid)", "-outform", "DER", "-out", work.file("\(name).csr"),
        ])
        try #require(made.succeeded, "\(made.output)")
        try openssl.run(["base64", "-in", work.file("\(name).csr")]).stdout.write(toFile: csrBase64, atomically: true, encoding: .utf8)
    }

    /// POSTs the CSR to `route` (curl), with a bearer token or a client certificate; returns the
    /// HTTP status and, on 200, the certificate as a PEM file.
    func post(
        to appliance: ApplianceProcess, route: String = "simpleenroll", token: String? = nil,
        clientCertificate: (cert: String, key: String)? = nil, name: String
    ) throws -> (code: String, certificate: String?, body: String) {
        let work = appliance.directory
        var arguments = [
            "-sS", "--max-time", "60", "-o", work.file("\(name).reply"), "-w", "%{http_code}", "--cacert", appliance.chain,
            "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(csrBase64)",
        ]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let clientCertificate { arguments += ["--cert", clientCertificate.cert, "--key", clientCertificate.key] }
        let reply = try ExternalTool("curl").run(arguments + ["\(appliance.httpsURL)/.well-known/est/\(route)"])
        let body = (try? String(contentsOfFile: work.file("\(name).reply"), encoding: .utf8)) ?? ""
        guard reply.stdout == "200" else { return (reply.stdout, nil, body) }
        let openssl = try ExternalTool("openssl")
        _ = try openssl.run(["base64", "-d", "-in", work.file("\(name).reply"), "-out", work.file("\(name).p7")])
        _ = try openssl.run(["pkcs7", "-inform", "DER", "-in", work.file("\(name).p7"), "-print_certs", "-out", work.file("\(name).crt")])
        return ("200", work.file("\(name).crt"), body)
    }
}

/// The serial of a PEM certificate as the store writes it (lower-case hex), via openssl.
func opensslSerial(_ certificate: String) throws -> String {
    let out = try ExternalTool("openssl").run(["x509", "-in", certificate, "-noout", "-serial"]).stdout
    return out.replacingOccurrences(of: "serial=", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
}

/// Whether the private key and certificate files belong together (their public keys, per openssl).
func opensslPairMatches(key: String, certificate: String) throws -> Bool {
    let openssl = try ExternalTool("openssl")
    let fromKey = try openssl.run(["pkey", "-in", key, "-pubout"])
    let fromCertificate = try openssl.run(["x509", "-in", certificate, "-noout", "-pubkey"])
    return fromKey.succeeded && fromCertificate.succeeded && !fromKey.stdout.isEmpty && fromKey.stdout == fromCertificate.stdout
}
