import Foundation
import PKICore
import Registration
import X509

extension IntermediateCA {
    /// The CA for `appliance serve`: certificates from the state directory, the given key (from
    /// ``IntermediateKeyLoader``), the RA over `store`; `roster` shares retirements with the
    /// other running parts (default: a new one from the retiring intermediates on disk).
    public static func load(
        state: StateDirectory, privateKey: Certificate.PrivateKey, store: any RegistrationDataStore, settings: CASettings,
        roster: IssuerRoster? = nil,
        policy: RegistrationPolicy = RegistrationPolicy(), clock: any PKIClock = SystemClock(),
        random: any RandomSource = SystemRandomSource(), crlTrigger: (@Sendable () async throws -> String)? = nil,
        metrics: ApplianceMetrics? = nil
    ) throws -> IntermediateCA {
        let certificates = try IntermediateKeyLoader.loadCertificates(state)
        let issuer: CertificateIssuer
        do {
            issuer = try CertificateIssuer(issuerCertificate: certificates.intermediate, privateKey: privateKey, clock: clock, random: random)
        } catch let error as PKIError {
            throw ApplianceError.stateDirectory("\(state.intermediateCertificate): \(error.reason)")
        }
        let authority = RegistrationAuthority(store: store, clock: clock, random: random, policy: policy)
        return try IntermediateCA(
            authority: authority, issuer: issuer, root: certificates.root, previousIntermediates: certificates.previous,
            roster: roster, settings: settings, crlTrigger: crlTrigger, metrics: metrics)
    }
}
