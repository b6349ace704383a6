import Foundation
import TestSupport

/// One HTTP exchange made by the real `curl` binary.
struct CurlResult {
    let status: Int
    let headers: [String: String]
    let body: String
    let raw: ExternalTool.Result
}

enum Curl {
    /// Runs `curl -sS -i ARGS` and splits status, headers (lowercased names) and body.
    static func run(_ arguments: [String]) async throws -> CurlResult {
        let result = try await ExternalTool("curl").runAsync(["-sS", "-i", "--max-time", "20"] + arguments, timeout: 30)
        let text = result.stdout
        guard let split = text.range(of: "\r\n\r\n") else {
            return CurlResult(status: 0, headers: [:], body: "", raw: result)
        }
        let head = text[..<split.lowerBound].split(separator: "\r\n")
        let statusLine = head.first.map(String.init) ?? ""
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return CurlResult(status: status, headers: headers, body: String(text[split.upperBound...]), raw: result)
    }

    /// A shell pipeline, for `openssl base64 -d | openssl pkcs7 …` checks.
    static func shell(_ script: String) async throws -> ExternalTool.Result {
        try await ExternalTool("sh").runAsync(["-c", script], timeout: 60)
    }
}

/// Generates an agent key + DER CSR with `openssl req` and writes its base64 to `csr.b64`.
func opensslCSR(in directory: TemporaryDirectory, name: String, commonName: String) async throws -> (b64: String, key: String) {
    let key = directory.file("\(name).key")
    let der = directory.file("\(name).csr.der")
    let b64 = directory.file("\(name).csr.b64")
    let req = try await ExternalTool("openssl").runAsync([
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-subj", "/CN=\(commonName)", "-outform", "DER", "-out", der,
    ])
    guard req.succeeded else { throw TestFailure("openssl req failed: \(req.output)") }
    let encode = try await ExternalTool("openssl").runAsync(["base64", "-in", der, "-out", b64])
    guard encode.succeeded else { throw TestFailure("openssl base64 failed: \(encode.output)") }
    return (b64, key)
}
