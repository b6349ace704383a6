import Foundation
import Hummingbird
import Logging
import NIOCore
import PKICore
import Registration
import X509

/// How the console renders: the page frame, responses and the formatting of values.
extension ConsoleRoutes {
    static let sections: [(String, String)] = [
        ("/", "Overview"), ("/pending", "Pending approvals"), ("/certificates", "Agents and certificates"), ("/timeline", "Expiry timeline"),
        ("/audit", "Audit"),
    ]

    func page(_ template: String, title: String, context: ConsoleRequestContext, _ values: [String: Any], flash: String? = nil) -> Response {
        var values = values
        values["title"] = title
        values["admin"] = context.administrator.commonName
        values["role"] = context.administrator.role.rawValue
        values["csrf"] = context.csrfToken
        if let flash { values["flash"] = flash }
        let current = context.path
        values["nav"] = Self.sections.map { section -> [String: Any] in
            ["href": section.0, "label": section.1, "current": section.0 == "/" ? current == "/" : current.hasPrefix(section.0)]
        }
        return Self.html(.ok, ConsoleTemplates.render(template, values))
    }

    static func html(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// 303 See Other after a POST (RFC 9110 §15.4.4), so a reload does not repeat the action.
    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// Fixed messages for `?done=` (the page never echoes a message from the URL).
    static func flash(_ request: Request) -> String? {
        switch query(request)["done"] {
        case "approved": "The registration was approved."
        case "rejected": "The registration was rejected."
        case "revoked": "The certificate was revoked. OCSP answers revoked from now on; the CRL follows within seconds."
        default: nil
        }
    }

    static func query(_ request: Request) -> [String: String] {
        var result: [String: String] = [:]
        for item in request.uri.queryParameters { result[String(item.key)] = String(item.value) }
        return result
    }

    /// `DNS:…`, `URI:…`, `IP:…` as openssl prints subjectAltName entries.
    static func describe(_ name: GeneralName) -> String {
        switch name {
        case .dnsName(let value): "DNS:\(value)"
        case .uniformResourceIdentifier(let value): "URI:\(value)"
        case .ipAddress(let bytes):
            bytes.bytes.count == 4 ? "IP:" + bytes.bytes.map { String($0) }.joined(separator: ".") : "IP:" + PKICore.Hex.encode(Array(bytes.bytes))
        case .rfc822Name(let value): "email:\(value)"
        default: "\(name)"
        }
    }

    static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
    static var dayFormatter: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter
    }
    static func shortDay(_ date: Date) -> String { String(dayFormatter.string(from: date).dropFirst(5)) }
    static func time(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
    static func age(_ date: Date, now: Date) -> String {
        let seconds = max(0, now.timeIntervalSince(date))
        if seconds < 3600 { return "\(Int(seconds / 60)) min" }
        if seconds < 86_400 { return "\(Int(seconds / 3600)) h" }
        return "\(Int(seconds / 86_400)) d"
    }
}
