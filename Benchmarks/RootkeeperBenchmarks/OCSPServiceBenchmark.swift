import ApplianceKit
import CAStore
import Crypto
import Foundation
import Logging
import PKICore
import Registration
import SwiftASN1
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// docs/performance.md "OCSP responses/s (POST, one CertID)": the appliance's `OCSPResponder.respond` on
/// the DER body of a POST (what the HTTP route hands it), one CertID, against the
/// `openssl ocsp -index … -port` responder answering the same request over HTTP/1.0 POSTs, one
/// connection per request (it closes after each answer, PERF-NOTES). Both sequential, one client.
/// Prints both rates and the ratio. Rootkeeper is measured without a nonce (served from the
/// pre-signed cache) and with a nonce (signed per request).
///
/// Arguments: `--seconds 3` `--keys p256,rsa2048` `--no-peer`.
enum OCSPServiceBenchmark {
    static func run(arguments: [String]) async throws {
        let seconds = Double(CRLBenchmark.option("--seconds", in: arguments) ?? "3") ?? 3
        let keys = CRLBenchmark.option("--keys", in: arguments)?.split(separator: ",").map(String.init) ?? ["p256", "rsa2048"]
        for key in keys {
            let setup = try await OCSPServiceSetup(key)
            defer { try? FileManager.default.removeItem(atPath: setup.directory) }
            let plain = try setup.request(nonce: false)
            let withNonce = try setup.request(nonce: true)
            _ = try await setup.responder.respond(toRequest: plain)
            let cached = try await rate(seconds) { _ = try await setup.responder.respond(toRequest: plain) }
            let signed = try await rate(seconds) { _ = try await setup.responder.respond(toRequest: withNonce) }
            var line = String(format: "%@ OCSP respond: cached %.0f/s, with nonce (signed) %.0f/s", key, cached, signed)
            if !arguments.contains("--no-peer") {
                let peer = try OpenSSLOCSPPeer(setup: setup).rate(request: plain, seconds: seconds)
                line += String(format: " | openssl ocsp -port %.0f/s | ratio cached %.1fx, signed %.1fx", peer, cached / peer, signed / peer)
            }
            print(line)
        }
    }

    static func rate(_ seconds: Double, _ body: () async throws -> Void) async throws -> Double {
        let start = DispatchTime.now()
        var count = 0
        while CRLBenchmark.elapsed(since: start) < seconds {
            for _ in 0..<100 { try await body() }
            count += 100
        }
        return Double(count) / CRLBenchmark.elapsed(since: start)
    }
}

/// A CA, one issued leaf recorded in a SQLite store in a temp directory, and a responder.
struct OCSPServiceSetup {
    let directory: String
    let ca: BenchmarkCA
    let leaf: Certificate
    let responder: OCSPResponder

    init(_ key: String) async throws {
        directory = NSTemporaryDirectory() + "rootkeeper-ocsp-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        ca = try BenchmarkCA(key)
        let store = try SQLiteStore(path: directory + "/bench.sqlite")
        let clock = SystemClock()
        let issuer = try CertificateIssuer(issuerCertificate: ca.certificate, privateKey: ca.privateKey, clock: clock, random: SystemRandomSource())
        let leafKey = P256.Signing.PrivateKey()
        let profile = try ServerLeafProfile(fqdn: "bench.example.test", organization: "Rootkeeper Benchmarks")
        let token = try issuer.prepare(profile: profile, subjectPublicKey: Certificate.PublicKey(leafKey.publicKey))
        let issuerSKI = try PKICore.Hex.encode(ca.certificate.extensions.subjectKeyIdentifier?.keyIdentifier ?? [])
        let serial = PKICore.Hex.encode(token.serialNumber.bytes)
        try await store.reserveIssuance(
            CertificateRecord(
                serial: serial, issuerSKI: issuerSKI, type: .server, subject: token.subject.description,
                notBefore: token.notValidBefore, notAfter: token.notValidAfter,
                tbsSHA256: PKICore.Hex.encode(SHA256.hash(data: token.tbsCertificateBytes)), reservedAt: Date()))
        leaf = try await issuer.issue(token)
        var serializer = DER.Serializer()
        try serializer.serialize(leaf)
        try await store.recordIssued(serial: serial, certificateDER: serializer.serializedBytes, at: Date())
        var logger = Logger(label: "bench.ocsp")
        logger.logLevel = .warning
        responder = try OCSPResponder(
            issuerCertificate: ca.certificate, privateKey: ca.privateKey, organization: "Rootkeeper Benchmarks",
            responderName: "ocsp.example.test", store: store, configuration: OCSPResponder.Configuration(), clock: clock,
            random: SystemRandomSource(), metrics: ApplianceMetrics(), logger: logger)
        // The responder certificate is issued through an RA, as in the appliance; nothing here follows its events.
        await responder.attach(
            authority: RegistrationAuthority(store: store, clock: clock, random: SystemRandomSource(), events: .unobserved))
        try await responder.prepare()
        try ca.certificate.serializeAsPEM().pemString.write(toFile: directory + "/ca.pem", atomically: true, encoding: .utf8)
        try ca.keyPEM.write(toFile: directory + "/ca.key", atomically: true, encoding: .utf8)
    }

    /// `openssl ocsp -reqout` for the leaf, so both responders get the same bytes a client sends.
    func request(nonce: Bool) throws -> [UInt8] {
        let out = directory + "/req-\(nonce).der"
        let serial = "0x" + PKICore.Hex.encode(leaf.serialNumber.bytes)
        try OpenSSLOCSPPeer.runOpenSSL(["ocsp", "-issuer", directory + "/ca.pem", "-serial", serial, "-reqout", out] + (nonce ? [] : ["-no_nonce"]))
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
    }
}

/// The `openssl ocsp -index … -port` responder as a peer (PERF-NOTES: it signs every response and
/// closes each connection; never connect to it without sending a request, or it spins — so
/// readiness is taken from its log line, not from probing the port).
struct OpenSSLOCSPPeer {
    let setup: OCSPServiceSetup

    static func runOpenSSL(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PKIError.invalidParameter("openssl \(arguments.first ?? "") failed") }
    }

    /// Requests/s answered by a fresh openssl responder, sequential POSTs for `seconds`.
    func rate(request: [UInt8], seconds: Double) throws -> Double {
        let index = setup.directory + "/index.txt"
        let formatter = DateFormatter()
        formatter.dateFormat = "yyMMddHHmmss'Z'"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let serial = PKICore.Hex.encode(setup.leaf.serialNumber.bytes).uppercased()
        let line = "V\t\(formatter.string(from: setup.leaf.notValidAfter))\t\t\(serial)\tunknown\t/CN=bench.example.test\n"
        try line.write(toFile: index, atomically: true, encoding: .utf8)
        let port = try Self.freePort()
        let log = setup.directory + "/openssl-ocsp.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "ocsp", "-index", index, "-port", "\(port)", "-CA", setup.directory + "/ca.pem",
            "-rsigner", setup.directory + "/ca.pem", "-rkey", setup.directory + "/ca.key", "-ignore_err",
        ]
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        defer {
            // SIGKILL: the responder does not always exit on SIGTERM while it is serving.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // Wait (bounded) for "Waiting for OCSP client connections..." / "ACCEPT".
        var ready = false
        for _ in 0..<100 where !ready {
            usleep(50_000)
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            ready = text.localizedCaseInsensitiveContains("waiting") || text.contains("ACCEPT")
        }
        guard ready else { throw PKIError.invalidParameter("openssl ocsp did not start") }
        let http = Array("POST / HTTP/1.0\r\nContent-Type: application/ocsp-request\r\nContent-Length: \(request.count)\r\n\r\n".utf8) + request
        let start = DispatchTime.now()
        var count = 0
        var measured = 0.0
        while CRLBenchmark.elapsed(since: start) < seconds {
            let answer: [UInt8]
            do { answer = try Self.exchange(port: port, bytes: http) } catch {
                // Report the rate up to the stall rather than nothing.
                FileHandle.standardError.write(Data("openssl ocsp stalled after \(count) requests: \(error)\n".utf8))
                break
            }
            guard answer.count > 100 else { throw PKIError.invalidParameter("openssl ocsp answered \(answer.count) bytes") }
            count += 1
            measured = CRLBenchmark.elapsed(since: start)
        }
        return Double(count) / max(measured, 0.001)
    }

    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw PKIError.invalidParameter("cannot find a free port") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// One TCP connection: send, read to EOF.
    static func exchange(port: UInt16, bytes: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PKIError.invalidParameter("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        // openssl ocsp occasionally stalls (PERF-NOTES): never wait more than 2 s for an answer.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw PKIError.invalidParameter("connect to openssl ocsp failed") }
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == bytes.count else { throw PKIError.invalidParameter("short send") }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { throw PKIError.invalidParameter("openssl ocsp stalled (no answer within 2 s)") }
            if n == 0 { break }
            answer += buffer[0..<n]
        }
        return answer
    }
}
