import Foundation
import Hummingbird
import Logging
import NIOCore
import PKICore
import Registration
import X509

/// The web console's routes (docs/console.md). ``ConsoleGuard`` has authenticated the
/// administrator and checked the CSRF token of a POST before any handler here runs; handlers
/// check the role of every state change again themselves (server side, whatever the page showed).
/// Every change goes through ``ConsoleBackend/ca`` — the same administration commands as the admin
/// socket, which go through the registration authority and its event stream — with the
/// administrator's name and address as the audit actor.
struct ConsoleRoutes: Sendable {
    let backend: ConsoleBackend
    let logger: Logger

    static let maxFormBytes = 16 * 1024
    static let listLimit = 500

    func register(on router: Router<ConsoleRequestContext>) {
        router.get("/") { _, context in try await self.overview(context) }
        router.get("/console.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.stylesheet)))
        }
        router.get("/favicon.svg") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "image/svg+xml"], body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.favicon)))
        }
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/pending") { request, context in try await self.pending(request, context) }
        router.get("/pending/:id/:decision") { _, context in try await self.confirmDecision(context) }
        router.post("/pending/:id/:decision") { request, context in try await self.decide(request, context) }
        router.get("/certificates") { request, context in try await self.certificates(request, context) }
        router.get("/certificates/:serial") { request, context in try await self.certificate(request, context) }
        router.get("/certificates/:serial/pem") { _, context in try await self.pem(context) }
        router.post("/certificates/:serial/revoke") { request, context in try await self.revoke(request, context) }
        router.get("/timeline") { _, context in try await self.timeline(context) }
        router.get("/audit") { request, context in try await self.audit(request, context) }
    }

    // MARK: Pages

    func overview(_ context: ConsoleRequestContext) async throws -> Response {
        let ca = backend.ca
        let now = ca.clock.now()
        let records = try await ca.store.certificates(type: nil)
        let active = records.filter { ($0.status == .issued || $0.status == .superseded) && $0.isWithinValidity(at: now) }
        func expiring(_ days: Double) -> Int { active.filter { $0.notAfter.timeIntervalSince(now) <= days * 86_400 }.count }
        let pendingCount = try await ca.store.registrations(status: .pending).count
        var tiles: [[String: Any]] = [
            ["label": "Active agent", "value": active.filter { $0.type == .agent }.count],
            ["label": "Active server", "value": active.filter { $0.type == .server }.count],
            ["label": "Active admin", "value": active.filter { $0.type == .admin }.count],
            ["label": "Pending approval", "value": pendingCount],
            ["label": "Expiring in 30 days", "value": expiring(30)],
            ["label": "Expiring in 7 days", "value": expiring(7)],
            ["label": "Expiring in 1 day", "value": expiring(1)],
        ]
        tiles.append(["label": "Expired", "value": records.filter { $0.status != .revoked && $0.status != .reserved && $0.notAfter < now }.count])
        tiles.append(["label": "Revoked", "value": records.filter { $0.status == .revoked }.count])

        // Issued and revoked per day over the last 30 days (UTC days, oldest first).
        let calendar = Self.utcCalendar
        let today = calendar.startOfDay(for: now)
        let days = (0..<30).map { calendar.date(byAdding: .day, value: $0 - 29, to: today)! }
        func dayIndex(_ date: Date) -> Int? {
            let offset = calendar.dateComponents([.day], from: today, to: calendar.startOfDay(for: date)).day ?? 1
            return (-29...0).contains(offset) ? offset + 29 : nil
        }
        var issued = [Int](repeating: 0, count: 30)
        var revoked = [Int](repeating: 0, count: 30)
        for record in records { if let at = record.issuedAt, let index = dayIndex(at) { issued[index] += 1 } }
        for record in records where record.status == .revoked {
            if case .revoked(let revocation) = try await ca.store.revocationStatus(serial: record.serial), let index = dayIndex(revocation.revokedAt)
            {
                revoked[index] += 1
            }
        }
        let chart = ConsoleCharts.bars(
            title: "Certificates issued and revoked per day", labels: days.map(Self.shortDay),
            series: [.init(label: "issued", cssClass: "issued", values: issued), .init(label: "revoked", cssClass: "revoked", values: revoked)],
            labelEvery: 5)

        let ageBuckets: [(String, ClosedRange<Double>)] = [
            ("under 7 days", 0...7), ("7–30 days", 7.000001...30), ("30–90 days", 30.000001...90),
            ("over 90 days", 90.000001...Double.greatestFiniteMagnitude),
        ]
        let ages: [[String: Any]] = ageBuckets.map { label, range -> [String: Any] in
            ["label": label, "count": active.filter { range.contains(now.timeIntervalSince($0.notBefore) / 86_400) }.count]
        }
        let issuers: [[String: Any]] = try await backend.issuers().map { issuer -> [String: Any] in
            [
                "subject": issuer.subject, "ski": issuer.ski, "state": issuer.current ? "current" : "retiring",
                "crlNumber": issuer.lastCRL.map { String($0.number) } ?? "none yet",
                "thisUpdate": issuer.lastCRL.map { Self.time($0.thisUpdate) + " (" + Self.age($0.thisUpdate, now: now) + " ago)" } ?? "-",
                "nextUpdate": issuer.lastCRL.map { Self.time($0.nextUpdate) } ?? "-",
            ]
        }
        let health: String =
            switch await backend.health() {
            case .healthy: "healthy"
            case .degraded(let reason): "degraded: \(reason)"
            case .attention(let reason): "needs attention: \(reason)"
            }
        let registry = backend.metrics.registry
        // Refusals and renewals of the last 24 hours (hourly buckets on the CA's clock, fed where
        // the Prometheus counters are incremented: ApplianceMetrics).
        let failures: [[String: Any]] = backend.metrics.recentValidationFailures.totals().sorted { $0.key < $1.key }.map { entry -> [String: Any] in
            ["reason": entry.key, "count": entry.value]
        }
        let renewals = backend.metrics.recentRenewals
        let renewed = renewals.total(ApplianceMetrics.RenewalOutcome.succeeded.rawValue)
        let refused = renewals.total(ApplianceMetrics.RenewalOutcome.refused.rawValue)
        let rate = renewed + refused == 0 ? "no renewals" : "\(renewed * 100 / (renewed + refused)) % succeeded"
        let ocsp = ["good", "revoked", "unknown", "malformed", "unauthorized", "tryLater"].map { status in
            "\(status) \(Int(registry.value("rootkeeper_ocsp_responses_total", labels: ["status": status])))"
        }.joined(separator: ", ")
        return page(
            "overview", title: "Overview", context: context,
            [
                "tiles": tiles, "activityChart": chart, "ages": ages, "issuers": issuers, "health": health,
                "signingKey": backend.signingKey(), "ocsp": ocsp,
                "renewals": "\(renewed) succeeded, \(refused) refused (\(rate))",
                "failures": failures, "hasFailures": !failures.isEmpty,
            ])
    }

    func pending(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let ca = backend.ca
        let now = ca.clock.now()
        let registrations = try await ca.store.registrations(status: .pending).sorted { $0.created < $1.created }
        let rows: [[String: Any]] = registrations.map { registration -> [String: Any] in
            let expired = ca.authority.policy.pendingExpired(created: registration.created, at: now)
            let csr = try? CertificateSigningRequest(derEncoded: registration.csrDER)
            let key = csr.flatMap { KeyAlgorithm(publicKey: $0.publicKey) }.map { "\($0)" } ?? "unknown"
            let organization =
                csr.map { csr in
                    csr.subject.flatMap { rdn in rdn.filter { $0.type == .RDNAttributeType.organizationName }.compactMap { String($0.value) } }
                        .joined(separator: ", ")
                } ?? ""
            return [
                "id": registration.id.uuidString.lowercased(), "hostname": registration.hostname, "agentID": registration.agentID.description,
                "key": key, "spki": registration.spkiSHA256, "source": registration.sourceAddress ?? "-",
                "age": Self.age(registration.created, now: now), "organization": organization, "open": !expired,
                "state": expired ? "expired" : "pending",
            ]
        }
        return page(
            "pending", title: "Pending approvals", context: context,
            ["rows": rows, "hasRows": !rows.isEmpty, "canApprove": context.administrator.role.mayApprove], flash: Self.flash(request))
    }

    func confirmDecision(_ context: ConsoleRequestContext) async throws -> Response {
        let (registration, decision) = try await pendingTarget(context)
        let approve = decision == "approve"
        return page(
            "confirm", title: approve ? "Approve registration" : "Reject registration", context: context,
            [
                "question": approve
                    ? "Approve this registration? The agent receives a certificate for the host name the next time it asks."
                    : "Reject this registration? The agent is told the reason and the host name is freed.",
                "facts": [
                    ["name": "Host name", "value": registration.hostname], ["name": "Agent ID", "value": registration.agentID.description],
                    ["name": "SPKI SHA-256", "value": registration.spkiSHA256], ["name": "Source", "value": registration.sourceAddress ?? "-"],
                    ["name": "Requested", "value": Self.time(registration.created)],
                ],
                "action": "/pending/\(registration.id.uuidString.lowercased())/\(decision)", "askReason": !approve,
                "button": approve ? "Approve \(registration.hostname)" : "Reject \(registration.hostname)",
                "buttonClass": approve ? "" : "danger", "cancel": "/pending",
            ])
    }

    func decide(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let (registration, decision) = try await pendingTarget(context)
        let id = registration.id.uuidString.lowercased()
        if decision == "approve" {
            _ = try await backend.ca.approveAgent(id: id, caller: context.caller)
            return Self.redirect("/pending?done=approved")
        }
        let reason = (context.form["reason"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw ConsoleRefusal(status: .badRequest, message: "a rejection needs a reason; go back and give one") }
        guard reason.count <= 500 else { throw ConsoleRefusal(status: .badRequest, message: "the reason is longer than 500 characters") }
        _ = try await backend.ca.rejectAgent(id: id, reason: reason, caller: context.caller)
        return Self.redirect("/pending?done=rejected")
    }

    /// The registration and decision of `/pending/:id/:decision`, for an administrator whose role may decide.
    private func pendingTarget(_ context: ConsoleRequestContext) async throws -> (PendingRegistration, String) {
        guard context.administrator.role.mayApprove else {
            throw ConsoleRefusal(
                status: .forbidden, message: "your role (\(context.administrator.role.rawValue)) may not approve or reject registrations")
        }
        let decision = context.parameters.get("decision") ?? ""
        guard decision == "approve" || decision == "reject" else { throw ConsoleRefusal(status: .notFound, message: "no such page") }
        guard let text = context.parameters.get("id"), let uuid = UUID(uuidString: text),
            let registration = try await backend.ca.store.registration(uuid),
            registration.status == .pending
        else {
            throw ConsoleRefusal(status: .notFound, message: "no pending registration with that ID (it may have been decided already)")
        }
        return (registration, decision)
    }

    func certificates(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let query = Self.query(request)
        let ca = backend.ca
        let now = ca.clock.now()
        let status = query["status"] ?? ""
        let type = query["type"] ?? ""
        let issuer = query["issuer"] ?? ""
        let search = (query["q"] ?? "").trimmingCharacters(in: .whitespaces)
        let beforeText = query["before"] ?? ""
        var before: Date?
        if !beforeText.isEmpty {
            guard let parsed = Self.dayFormatter.date(from: beforeText) else {
                throw ConsoleRefusal(status: .badRequest, message: "expiring before must be a date as YYYY-MM-DD")
            }
            before = parsed
        }
        var records = try await ca.store.certificates(type: CertificateRecord.CertificateType(rawValue: type)).filter { $0.status != .reserved }
        if !status.isEmpty {
            records = records.filter { record in
                status == "expired" ? record.status != .revoked && record.notAfter < now : record.status.rawValue == status
            }
        }
        if !issuer.isEmpty { records = records.filter { $0.issuerSKI == issuer } }
        if let before { records = records.filter { $0.notAfter < before && $0.notAfter >= now && $0.status != .revoked } }
        if !search.isEmpty {
            let needle = search.lowercased()
            records = records.filter {
                $0.serial.contains(needle) || $0.subject.lowercased().contains(needle) || ($0.agentID?.description.contains(needle) ?? false)
            }
        }
        records.sort { $0.notAfter < $1.notAfter }
        let shown = records.prefix(Self.listLimit)
        let rows: [[String: Any]] = shown.map { record -> [String: Any] in
            [
                "serial": record.serial, "type": record.type.rawValue, "subject": record.subject,
                "status": record.status == .issued && record.notAfter < now ? "expired" : record.status.rawValue,
                "notAfter": Self.time(record.notAfter),
            ]
        }
        func options(_ values: [(String, String)], _ selected: String) -> [[String: Any]] {
            values.map { value -> [String: Any] in ["value": value.0, "label": value.1, "selected": value.0 == selected] }
        }
        let issuerOptions = [("", "any")] + (try ca.roster.all.map { (try IssuerRoster.ski($0), SubjectName.commonName(of: $0.subject) ?? "issuer") })
        return page(
            "certificates", title: "Agents and certificates", context: context,
            [
                "rows": rows, "count": records.count, "shown": shown.count, "truncated": records.count > shown.count, "q": search,
                "before": beforeText,
                "statuses": options(
                    [("", "any"), ("issued", "issued"), ("superseded", "superseded"), ("revoked", "revoked"), ("expired", "expired")], status),
                "types": options([("", "any")] + CertificateRecord.CertificateType.allCases.map { ($0.rawValue, $0.rawValue) }, type),
                "issuerOptions": options(issuerOptions, issuer),
            ])
    }

    func certificate(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let record = try await certificateRecord(context)
        let ca = backend.ca
        var fields: [[String: Any]] = [
            ["name": "Serial", "value": record.serial], ["name": "Type", "value": record.type.rawValue],
            ["name": "Subject", "value": record.subject],
            ["name": "Status", "value": record.status.rawValue], ["name": "Not before", "value": Self.time(record.notBefore)],
            ["name": "Not after", "value": Self.time(record.notAfter)], ["name": "Agent", "value": record.agentID?.description ?? "-"],
            ["name": "Issuer SKI", "value": record.issuerSKI],
        ]
        var revoked = false
        if case .revoked(let revocation) = try await ca.store.revocationStatus(serial: record.serial) {
            revoked = true
            fields.append(["name": "Revoked", "value": "\(Self.time(revocation.revokedAt)), reason \(revocation.reason?.name ?? "none")"])
        }
        if let der = record.certificateDER, let certificate = try? Certificate(derEncoded: der) {
            if let names = try? certificate.extensions.subjectAlternativeNames {
                fields.append(["name": "Subject alternative names", "value": names.map(Self.describe).joined(separator: ", ")])
            }
            fields.append(["name": "SPKI SHA-256", "value": certificate.publicKey.spkiSHA256Hex])
        }
        let lineage: [[String: Any]] = try await ca.store.lineage(serial: record.serial).map { link -> [String: Any] in
            ["serial": link.serial, "status": link.status.rawValue, "notAfter": Self.time(link.notAfter), "this": link.serial == record.serial]
        }
        return page(
            "certificate", title: "Certificate \(record.serial)", context: context,
            [
                "serial": record.serial, "fields": fields, "lineage": lineage,
                "canRevoke": context.administrator.role.mayRevoke && !revoked && record.status != .reserved,
                "reasons": RevocationReason.acceptedForRevocation.map(\.name),
            ], flash: Self.flash(request))
    }

    func pem(_ context: ConsoleRequestContext) async throws -> Response {
        let record = try await certificateRecord(context)
        guard let der = record.certificateDER else { throw ConsoleRefusal(status: .notFound, message: "this certificate was never signed") }
        let pem = try PEMCodec.pem(try Certificate(derEncoded: der))
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-pem-file", .contentDisposition: "attachment; filename=\"\(record.serial).pem\""],
            body: .init(byteBuffer: ByteBuffer(string: pem)))
    }

    func revoke(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        guard context.administrator.role.mayRevoke else {
            throw ConsoleRefusal(status: .forbidden, message: "your role (\(context.administrator.role.rawValue)) may not revoke certificates")
        }
        let record = try await certificateRecord(context)
        guard context.form["confirm"]?.trimmingCharacters(in: .whitespaces).lowercased() == record.serial else {
            throw ConsoleRefusal(status: .badRequest, message: "the serial number typed to confirm does not match; nothing was revoked")
        }
        _ = try await backend.ca.revokeCertificate(serial: record.serial, reason: context.form["reason"] ?? "unspecified", caller: context.caller)
        return Self.redirect("/certificates/\(record.serial)?done=revoked")
    }

    private func certificateRecord(_ context: ConsoleRequestContext) async throws -> CertificateRecord {
        let serial = (context.parameters.get("serial") ?? "").lowercased()
        guard !serial.isEmpty, serial.allSatisfy(\.isHexDigit), let record = try await backend.ca.store.certificate(serial: serial) else {
            throw ConsoleRefusal(status: .notFound, message: "no certificate with that serial number")
        }
        return record
    }

    func timeline(_ context: ConsoleRequestContext) async throws -> Response {
        let ca = backend.ca
        let now = ca.clock.now()
        let calendar = Self.utcCalendar
        let start = calendar.startOfDay(for: now)
        let weeks = (0..<13).map { calendar.date(byAdding: .day, value: 7 * $0, to: start)! }
        var counts = [Int](repeating: 0, count: 13)
        for record in try await ca.store.certificates(type: nil)
        where (record.status == .issued || record.status == .superseded) && record.notAfter >= now {
            let index = Int(record.notAfter.timeIntervalSince(start) / (7 * 86_400))
            if (0..<13).contains(index) { counts[index] += 1 }
        }
        let links = weeks.map { "/certificates?before=" + Self.dayFormatter.string(from: calendar.date(byAdding: .day, value: 7, to: $0)!) }
        let chart = ConsoleCharts.bars(
            title: "Certificates expiring per week, next 90 days", labels: weeks.map(Self.shortDay),
            series: [.init(label: "expiring", cssClass: "expiring", values: counts)], links: links)
        let rows: [[String: Any]] = weeks.indices.map { index -> [String: Any] in
            ["start": Self.dayFormatter.string(from: weeks[index]), "count": counts[index], "link": links[index]]
        }
        return page("timeline", title: "Expiry timeline", context: context, ["chart": chart, "weeks": rows])
    }

    func audit(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let store = backend.ca.store
        let search = (Self.query(request)["q"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        var events: [AuditEvent] = []
        var after: Int64 = 0
        while true {
            let page = try await store.auditEvents(afterSeq: after, limit: 1000)
            guard let last = page.last else { break }
            events += page
            after = last.seq
        }
        if !search.isEmpty {
            events = events.filter { "\($0.actor) \($0.action) \($0.subject)".lowercased().contains(search) }
        }
        let newest = events.reversed().prefix(Self.listLimit)
        let rows: [[String: Any]] = newest.map { event -> [String: Any] in
            [
                "seq": event.seq, "time": Self.time(event.time), "actor": event.actor, "action": event.action, "subject": event.subject,
                "details": event.detailsJSON,
            ]
        }
        let chain: String
        let chainClass: String
        switch try await store.verifyAuditChain() {
        case .intact(let count, let head):
            (chain, chainClass) = ("intact, \(count) events, head \(head.prefix(16))…", "intact")
        case .broken(let seq, let reason):
            (chain, chainClass) = ("BROKEN at event \(seq): \(reason)", "broken")
        }
        return page("audit", title: "Audit journal", context: context, ["rows": rows, "q": search, "chain": chain, "chainClass": chainClass])
    }
}
