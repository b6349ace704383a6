import ApplianceKit
import Foundation
import PKICore

#if canImport(Glibc)
    import Glibc
#endif

/// docs/performance.md "revoke → visible in OCSP and CRL": against a running release appliance (started by
/// scripts/bench/network.sh on a store holding 1 000 000 revocations), revokes one certificate
/// through the admin socket (what `appliance certs revoke` does) and measures, from just before
/// the admin request, when `POST /ocsp` first answers `revoked` for it and when the
/// `/crl/intermediate.crl` served over HTTP first lists it. Two pollers run side by side, each
/// bounded by `--timeout` seconds.
///
/// Arguments: `--state DIR` `--http-port P` `--serial HEX` `--request FILE` (DER OCSP request
/// for that serial, from `openssl ocsp -reqout`) `[--timeout 60]`.
enum RevocationLatencyBenchmark {
    static func run(arguments: [String]) throws {
        guard let state = CRLBenchmark.option("--state", in: arguments),
            let port = CRLBenchmark.option("--http-port", in: arguments).flatMap(UInt16.init),
            let serial = CRLBenchmark.option("--serial", in: arguments)?.lowercased(),
            let serialBytes = PKICore.Hex.decode(serial), !serialBytes.isEmpty,
            let requestPath = CRLBenchmark.option("--request", in: arguments)
        else { throw PKIError.invalidParameter("revocation-latency needs --state DIR --http-port P --serial HEX --request FILE") }
        let timeout = Double(CRLBenchmark.option("--timeout", in: arguments) ?? "60") ?? 60
        let ocspRequest = try [UInt8](Data(contentsOf: URL(fileURLWithPath: requestPath)))
        let ocspHTTP =
            Array(
                "POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: \(ocspRequest.count)\r\nConnection: close\r\n\r\n"
                    .utf8) + ocspRequest
        let crlHTTP = Array("GET /crl/intermediate.crl HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        // The CRL entry's userCertificate as DER: INTEGER, length, the serial's bytes (RFC 5280 §5.1).
        let needle: [UInt8] = [0x02, UInt8(serialBytes.count)] + serialBytes

        guard try ocspStatus(port: port, http: ocspHTTP) == "good" else {
            throw PKIError.invalidParameter("OCSP does not say 'good' for \(serial) before the revocation")
        }
        let before = try body(of: OpenSSLOCSPPeer.exchange(port: port, bytes: crlHTTP))
        guard !contains(before, needle) else { throw PKIError.invalidParameter("the CRL already lists \(serial)") }
        print(String(format: "revocation-latency: CRL before revoking: %.1f MB", Double(before.count) / 1e6))

        // Read before revoking: a CRL published before the first poll must still count as new.
        let initialSize = crlSize(port: port)
        let start = DispatchTime.now()
        let admin = AdminClient(socketPath: StateDirectory(path: state).adminSocket)
        let response = try admin.send(AdminRequest(command: "certs.revoke", arguments: ["serial": serial, "reason": "keyCompromise"]))
        guard response.ok else { throw PKIError.invalidParameter("certs.revoke failed: \(response.error ?? "")") }
        let adminDone = CRLBenchmark.elapsed(since: start)

        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 2) { which in
            var polls = 0
            var sizeBefore = initialSize
            while CRLBenchmark.elapsed(since: start) < timeout {
                polls += 1
                if which == 0, (try? ocspStatus(port: port, http: ocspHTTP)) == "revoked" {
                    results.set(ocsp: CRLBenchmark.elapsed(since: start), polls: polls)
                    return
                }
                // Downloading a 49 MB CRL every few ms would steal the CPU the publisher needs, so
                // the cheap /metrics gauge says when a new CRL is served; that CRL is then fetched
                // and searched (the time recorded includes that download).
                if which == 1, let size = crlSize(port: port), size != sizeBefore,
                    let crl = try? body(of: OpenSSLOCSPPeer.exchange(port: port, bytes: crlHTTP))
                {
                    if contains(crl, needle) {
                        results.set(crl: CRLBenchmark.elapsed(since: start), polls: polls, bytes: crl.count)
                        return
                    }
                    sizeBefore = size
                }
                usleep(2_000)
            }
        }
        let (ocsp, crl, ocspPolls, crlPolls, crlBytes) = results.values
        print(String(format: "revocation-latency: admin revoke answered after %.0f ms", adminDone * 1000))
        print(
            "revocation-latency: visible in OCSP after "
                + (ocsp.map { String(format: "%.0f ms (%d polls)", $0 * 1000, ocspPolls) } ?? "— not within \(timeout) s"))
        print(
            "revocation-latency: listed in the served CRL after "
                + (crl.map { String(format: "%.0f ms (%d polls, CRL %.1f MB)", $0 * 1000, crlPolls, Double(crlBytes) / 1e6) }
                    ?? "— not within \(timeout) s"))
        guard ocsp != nil, crl != nil else { exit(1) }
    }

    /// The intermediates' `rootkeeper_crl_size_bytes{issuer="<ski>"}` lines of `/metrics` (every
    /// issuer but the root; the series are labelled by SKI, docs/metrics.md), nil when unreadable.
    static func crlSize(port: UInt16) -> String? {
        let request = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard let text = try? body(of: OpenSSLOCSPPeer.exchange(port: port, bytes: request)) else { return nil }
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("rootkeeper_crl_size_bytes{") && !$0.contains("issuer=\"root\"") }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    /// "good", "revoked", "unknown", or the response status when it is not successful.
    static func ocspStatus(port: UInt16, http: [UInt8]) throws -> String {
        let response = try PKICore.OCSPResponse(derEncoded: body(of: OpenSSLOCSPPeer.exchange(port: port, bytes: http)))
        guard let single = response.basicResponse?.responses.first else { return "\(response.status)" }
        switch single.status {
        case .good: return "good"
        case .revoked: return "revoked"
        case .unknown: return "unknown"
        }
    }

    /// The body of an HTTP/1.1 response read to EOF (the request said `Connection: close`).
    static func body(of response: [UInt8]) throws -> [UInt8] {
        guard response.starts(with: Array("HTTP/1.1 200".utf8)) else {
            throw PKIError.invalidParameter("HTTP answer is not 200: \(String(decoding: response.prefix(40), as: UTF8.self))")
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = range(of: separator, in: response) else { throw PKIError.invalidParameter("no end of HTTP headers") }
        return Array(response[end...])
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool { range(of: needle, in: haystack) != nil }

    /// Index just after the first occurrence of `needle` (memchr for its first byte, then memcmp:
    /// the CRL is tens of MB).
    static func range(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        return haystack.withUnsafeBytes { h -> Int? in
            needle.withUnsafeBytes { n -> Int? in
                guard let base = h.baseAddress, let nBase = n.baseAddress else { return nil }
                var offset = 0
                let last = h.count - n.count
                while offset <= last {
                    guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return nil }
                    let index = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + index, nBase, n.count) == 0 { return index + n.count }
                    offset = index + 1
                }
                return nil
            }
        }
    }

    /// Results of the two pollers.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var ocsp: Double?, crl: Double?, ocspPolls = 0, crlPolls = 0, crlBytes = 0
        func set(ocsp time: Double, polls: Int) {
            lock.lock()
            defer { lock.unlock() }
            (ocsp, ocspPolls) = (time, polls)
        }
        func set(crl time: Double, polls: Int, bytes: Int) {
            lock.lock()
            defer { lock.unlock() }
            (crl, crlPolls, crlBytes) = (time, polls, bytes)
        }
        var values: (Double?, Double?, Int, Int, Int) {
            lock.lock()
            defer { lock.unlock() }
            return (ocsp, crl, ocspPolls, crlPolls, crlBytes)
        }
    }
}
