import Foundation
import SwiftASN1
import X509

/// Issues CRLs for one CA: lints, encodes, signs, verifies.
///
/// The path is short and linear (docs/conventions.md#signing-path): list-level lint rules, then one encoding pass over
/// the entries (each entry is linted as it is written), then the signature over the exact TBS
/// bytes that were linted, then verification of that signature with the issuer certificate's
/// public key. Any failure throws and nothing is returned.
///
/// docs/profiles.md#lint-before-signing lints a placeholder-signed copy of a certificate, then signs
/// for real and compares the TBS. A CRL's TBS does not contain the signature, so the lints here read the TBS being built and
/// the real signature is computed over those very bytes: identical by construction.
public struct CRLSigner: Sendable {
    /// The CA certificate whose key signs the CRLs.
    public let issuerCertificate: Certificate
    private let privateKey: Certificate.PrivateKey

    /// The names of the lint rules every CRL passes before it is signed (they appear in
    /// `lintFailure` reasons).
    public static var lintRuleNames: [String] { CRLLinter.ruleNames }

    /// Throws `invalidParameter` when `privateKey` does not belong to `issuerCertificate`.
    public init(issuerCertificate: Certificate, privateKey: Certificate.PrivateKey) throws {
        guard privateKey.publicKey == issuerCertificate.publicKey else {
            throw PKIError.invalidParameter("the CRL signing key does not match the issuer certificate")
        }
        self.issuerCertificate = issuerCertificate
        self.privateKey = privateKey
    }

    /// Lints, signs and verifies `tbs`.
    ///
    /// - Parameter previousCRLNumber: the number of the last CRL of this scope; the new number
    ///   must be greater (nil for the first CRL).
    /// - Throws: `lintFailure` naming the rule, `signingFailure`, `invalidSignature`.
    public func sign(_ tbs: TBSCertList, previousCRLNumber: CRLNumber?) async throws -> SignedCRL {
        try await sign(tbs, additionalEntries: EmptyCollection(), previousCRLNumber: previousCRLNumber)
    }

    /// As ``sign(_:previousCRLNumber:)``, with entries streamed from `additionalEntries` after
    /// `tbs.revokedCertificates` (which is usually empty then). Entries are encoded as they are
    /// produced, so a database cursor of a million revocations never becomes an array.
    public func sign(
        _ tbs: TBSCertList,
        additionalEntries: some Sequence<RevokedCertificate>,
        previousCRLNumber: CRLNumber?
    ) async throws -> SignedCRL {
        let expectedEntries = tbs.revokedCertificates.count + additionalEntries.underestimatedCount
        var linter = CRLLinter(expectedEntries: expectedEntries)
        try linter.checkList(tbs, context: CRLLintContext(issuerCertificate: issuerCertificate, previousCRLNumber: previousCRLNumber))
        var encoder = try CRLEncoder(tbs, expectedEntries: expectedEntries)
        for entry in tbs.revokedCertificates {
            try linter.checkEntry(entry)
            encoder.append(entry)
        }
        for entry in additionalEntries {
            try linter.checkEntry(entry)
            encoder.append(entry)
        }
        return try await finish(&encoder, tbs)
    }

    /// As ``sign(_:previousCRLNumber:)`` with the entries of `entries`, copied as they are: each
    /// was linted when it was appended to the list (``CRLEntryList``), the list-level rules run
    /// here, then the same sign-and-verify as every CRL. `tbs.revokedCertificates` must be empty.
    public func sign(_ tbs: TBSCertList, entries: CRLEntryList, previousCRLNumber: CRLNumber?) async throws -> SignedCRL {
        guard tbs.revokedCertificates.isEmpty else {
            throw PKIError.invalidParameter("entries come from the CRLEntryList; the TBSCertList must list none")
        }
        try CRLLinter().checkList(tbs, context: CRLLintContext(issuerCertificate: issuerCertificate, previousCRLNumber: previousCRLNumber))
        var encoder = try CRLEncoder(tbs, expectedEntryBytes: entries.encoded.count)
        encoder.appendEncoded(entries.encoded, count: entries.count)
        return try await finish(&encoder, tbs)
    }

    /// Writes the TBS headers, signs the exact TBS bytes, verifies the signature, returns the CRL.
    private func finish(_ encoder: inout CRLEncoder, _ tbs: TBSCertList) async throws -> SignedCRL {
        encoder.finishTBS()

        let signature: Certificate.Signature
        do {
            signature = try await privateKey.signAsynchronously(bytes: encoder.tbsBytes, signatureAlgorithm: tbs.signatureAlgorithm)
        } catch {
            throw PKIError.signing("CRL signing failed: \(error)")
        }
        let signatureBytes = signature.rawRepresentation
        guard
            issuerCertificate.publicKey.isValidSignature(
                signatureBytes, for: encoder.tbsBytes, signatureAlgorithm: tbs.signatureAlgorithm)
        else {
            throw PKIError.invalidSignature("the CRL signature just produced does not verify with the issuer certificate")
        }
        let der = try encoder.finish(signatureBytes: signatureBytes)
        return SignedCRL(
            derEncoded: der, crlNumber: tbs.crlNumber, thisUpdate: tbs.thisUpdate, nextUpdate: tbs.nextUpdate,
            entryCount: encoder.entryCount)
    }
}

/// A CRL just issued by ``CRLSigner``: the DER plus what a publisher needs to know about it.
public struct SignedCRL: Sendable {
    /// The DER CertificateList.
    public let derEncoded: [UInt8]
    public let crlNumber: CRLNumber
    public let thisUpdate: Date
    public let nextUpdate: Date
    /// Number of revokedCertificates entries.
    public let entryCount: Int

    /// The CRL as PEM (`X509 CRL`).
    public var pemEncoded: String {
        PEMDocument(type: CertificateRevocationList.pemDiscriminator, derBytes: derEncoded).pemString
    }
}
