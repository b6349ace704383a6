import Foundation
import X509

/// What the agent requires of the appliance before it sends a single byte of request: the
/// presented chain verifies (RFC 5280) to a trusted root, the leaf names the host we dialled (a
/// DNS name or an IP literal, see ``ServerHost``), the leaf is a server certificate — serverAuth,
/// not an agent's or administrator's client certificate (``ServerLeafRequirement``) — and a
/// certificate in the verified chain has the pinned SPKI.
///
/// Before enrolment the agent has no CA file; the anchor is then the presented certificate whose
/// SPKI matches the pin (received out of band), so pin the intermediate or the server key, or have
/// the appliance include the root in its served chain to pin the root.
public struct ServerTrustPolicy: Sendable {
    public var pin: SPKIPin
    /// Trusted roots from `ca-chain.crt`; empty before enrolment (trust-on-pin).
    public var roots: [Certificate]
    public var now: @Sendable () -> Date

    public init(pin: SPKIPin, roots: [Certificate] = [], now: @escaping @Sendable () -> Date = { Date() }) {
        self.pin = pin
        self.roots = roots
        self.now = now
    }

    /// Returns nil when trusted, else the reason for refusing.
    public func evaluate(presented: [Certificate], hostname: String) async -> String? {
        await evaluate(presented: presented, host: ServerHost(hostname))
    }

    /// Returns nil when trusted, else the reason for refusing.
    public func evaluate(presented: [Certificate], host: ServerHost) async -> String? {
        let hostname = host.name
        guard let leaf = presented.first else { return "the server presented no certificate" }
        // Before enrolment (no CA file) the pinned certificate itself is the trust anchor: it must
        // be among those the server presents, and the leaf must chain to it.
        let anchors = roots.isEmpty ? presented.filter { pin.matches($0) } : roots
        guard !anchors.isEmpty else { return "no certificate in the server's chain matches the pin \(pin)" }
        let time = now()
        var verifier = Verifier(rootCertificates: CertificateStore(anchors)) {
            RFC5280Policy(validationTime: time)
            // An IP literal is matched against iPAddress SANs only, a name against dNSName SANs only.
            ServerIdentityPolicy(serverHostname: host.ipAddress == nil ? hostname : nil, serverIP: host.ipAddress)
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(presented.dropFirst())) {
        case .couldNotValidate(let failures):
            return "server certificate does not verify for \(hostname): \(failures.first.map { "\($0.policyFailureReason)" } ?? "no path")"
        case .validCertificate(let chain):
            if let refusal = ServerLeafRequirement.refusal(leaf) { return refusal }
            guard pin.matches(any: Array(chain)) else {
                return "no certificate in the server's chain matches the pin \(pin)"
            }
            return nil
        }
    }
}
