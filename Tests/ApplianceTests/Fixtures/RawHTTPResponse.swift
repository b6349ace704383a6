import Foundation

/// One HTTP/1.1 response as it came off a ``RawTCPConnection``: status line, headers in the
/// order sent, body framed by Content-Length — enough to check pipelined answers one by one and
/// to compare two answers header by header.
struct RawHTTPResponse: CustomStringConvertible {
    let statusLine: String
    /// (lower-cased name, value), in the order sent.
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    var status: Int { Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0 }

    func header(_ name: String) -> String? { headers.first { $0.name == name.lowercased() }?.value }

    var description: String {
        ([statusLine] + headers.map { "\($0.name): \($0.value)" }).joined(separator: "\n") + "\n(\(body.count) body bytes)"
    }

    /// Same status line, body and header names in the same order, and the same header values
    /// except those named in `varying` (e.g. `date`).
    func matches(_ other: RawHTTPResponse, except varying: Set<String> = ["date"]) -> Bool {
        statusLine == other.statusLine && body == other.body && headers.map(\.name) == other.headers.map(\.name)
            && zip(headers, other.headers).allSatisfy { varying.contains($0.name) || $0.value == $1.value }
    }

    /// Splits `bytes` into complete responses (each must carry Content-Length); the bytes after
    /// the last complete one are left out.
    static func parse(_ bytes: [UInt8]) -> [RawHTTPResponse] {
        var responses: [RawHTTPResponse] = []
        var rest = bytes[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while let end = rest.firstRange(of: separator) {
            let head = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let headers = head.dropFirst().compactMap { line -> (name: String, value: String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            let length = headers.first { $0.name == "content-length" }.flatMap { Int($0.value) } ?? 0
            guard rest.endIndex - end.upperBound >= length else { break }
            responses.append(.init(statusLine: head[0], headers: headers, body: Array(rest[end.upperBound..<end.upperBound + length])))
            rest = rest[(end.upperBound + length)...]
        }
        return responses
    }
}

extension RawTCPConnection {
    /// Reads until `count` complete responses have arrived, the server closes, or `seconds` of
    /// silence; returns what was parsed and whether the server closed the connection (checked
    /// for up to `closeWait` seconds more once the responses are in).
    func responses(_ count: Int, silenceLimit seconds: Double = 10, closeWait: Double = 0) -> (responses: [RawHTTPResponse], closed: Bool) {
        var all: [UInt8] = []
        while RawHTTPResponse.parse(all).count < count {
            switch read(waitingUpTo: seconds) {
            case .data(let bytes): all += bytes
            case .closed: return (RawHTTPResponse.parse(all), true)
            case .nothing: return (RawHTTPResponse.parse(all), false)
            }
        }
        guard closeWait > 0 else { return (RawHTTPResponse.parse(all), false) }
        switch read(waitingUpTo: closeWait) {
        case .closed: return (RawHTTPResponse.parse(all), true)
        case .data(let bytes): return (RawHTTPResponse.parse(all + bytes), false)
        case .nothing: return (RawHTTPResponse.parse(all), false)
        }
    }
}
