import Foundation

/// The appliance's view of the agent's current certificate, as `GET /api/v1/agent/status`
/// answers it (docs/endpoints.md#agent-status): the one source of the renewal window, so the
/// agent never keeps its own idea of when to renew (`ca.renew_before_days` is the appliance's).
public struct AgentStatusReport: Sendable, Decodable, Equatable {
    public var agentID: String
    public var hostname: String
    public var serialNumber: String
    public var notBefore: Date
    public var notAfter: Date
    /// `issued`, `superseded`, `revoked`, … as the appliance records it.
    public var state: String
    /// True inside the appliance's renewal window (and only for a renewable certificate).
    public var renewNow: Bool
    /// When the window opens; absent from appliances older than this field.
    public var renewFrom: Date?

    /// Decodes the JSON body of the status route (ISO 8601 dates).
    public static func decode(_ body: [UInt8]) throws -> AgentStatusReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(AgentStatusReport.self, from: Data(body))
        } catch {
            throw AgentError(
                .transport,
                "the appliance's status answer is not the JSON of docs/endpoints.md#agent-status: \(String(decoding: body.prefix(200), as: UTF8.self))"
            )
        }
    }
}

/// Whether to renew now: the one decision `agent renew`, `agent renew --daemon` and `agent status`
/// share (issue #18: status said `renewNow` while renew said "not due").
///
/// The appliance decides the window (`renewNow` of the status route, from `ca.renew_before_days`),
/// because it is the appliance that refuses a renewal outside it. The one case the agent decides
/// alone is an unfinished renewal (`pending.key` present, docs/agent-files.md): its certificate
/// may already be superseded, so the appliance no longer says `renewNow`, yet the retry is what
/// fetches the successor it issued.
public struct RenewalCheck: Sendable, Equatable {
    public var status: AgentStatusReport
    /// A renewal was interrupted and its key is waiting in `pending.key`.
    public var unfinished: Bool

    public init(status: AgentStatusReport, unfinished: Bool) {
        self.status = status
        self.unfinished = unfinished
    }

    /// Renew now.
    public var isDue: Bool { unfinished || status.renewNow }

    /// One sentence for people: why it renews or why not, and when it will.
    public var explanation: String {
        let notAfter = Self.time(status.notAfter)
        if unfinished { return "an interrupted renewal is finished (its key is in pending.key)" }
        if status.renewNow { return "the appliance's renewal window is open (certificate \(status.serialNumber) expires \(notAfter))" }
        // The states in which the appliance refuses any renewal (docs/lifecycle.md#agent-renewal).
        if ["revoked", "superseded", "reserved"].contains(status.state) {
            return
                "certificate \(status.serialNumber) is \(status.state) and cannot be renewed; enrol again with `agent enroll` into a new --out directory"
        }
        if let renewFrom = status.renewFrom {
            return
                "not due: certificate \(status.serialNumber) expires \(notAfter); the appliance's renewal window (ca.renew_before_days) opens \(Self.time(renewFrom))"
        }
        return "not due: certificate \(status.serialNumber) expires \(notAfter) and the appliance does not ask for a renewal yet"
    }

    static func time(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
