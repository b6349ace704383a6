import Foundation
import PKICore
import Registration
import X509

extension IntermediateCA {
    /// The CA for `appliance serve`: certificates from the state directory, the given key (from
    /// ``IntermediateKeyLoader``), the RA over `store` announcing on `events`; `roster` shares
    /// retirements with the other running parts (default: a new one from the retiring
    /// intermediates on disk).
    public static func load(
        state: StateDirectory, privateKey: Certificate.PrivateKey, store: any AdministrationStore, settings: CASettings,
        roster: IssuerRoster? = nil,
        policy: RegistrationPolicy = RegistrationPolicy(), clock: any PKIClock = SystemClock(),
        random: any RandomSource = SystemRandomSource(), events: AuthorityEventStream, crlPublication: any CRLPublishing
    ) throws -> IntermediateCA {
        let certificates = try IntermediateKeyLoader.loadCertificates(state)
        let issuer: CertificateIssuer
        do {
            issuer = try CertificateIssuer(issuerCertificate: certificates.intermediate, privateKey: privateKey, clock: clock, random: random)
        } catch let error as PKIError {
            throw ApplianceError.stateDirectory("\(state.intermediateCertificate): \(error.reason)")
        }
        let authority = RegistrationAuthority(store: store, clock: clock, random: random, policy: policy, events: events)
        return try IntermediateCA(
            authority: authority, store: store, issuer: issuer, root: certificates.root, previousIntermediates: certificates.previous,
            roster: roster, settings: settings, crlPublication: crlPublication)
    }
}
