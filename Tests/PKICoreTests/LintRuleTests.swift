import Crypto
import Foundation
import PKICore
import SwiftASN1
import TestSupport
import Testing
import X509
import _CryptoExtras

/// Every lint rule, broken on purpose through a tampered profile (or key, serial source, issuer
/// key); issuance must stop at `prepare` with a lint error naming the rule.
@Suite("Lint rules stop issuance and name the rule")
struct LintRuleTests {
    static let uuid = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

    func agentProfile() throws -> AgentLeafProfile {
        try AgentLeafProfile(identity: AgentIdentity(hostname: "lint-host", uuid: Self.uuid), organization: "Rootkeeper Test")
    }

    /// Prepares with `profile` and expects a lint failure naming `rule`.
    func expectLintFailure(_ rule: String, issuer: CertificateIssuer, profile: some CertificateProfile, key: Certificate.PublicKey? = nil) throws {
        let subjectKey = try key ?? KeyAlgorithm.p256.generatePrivateKey().publicKey
        do {
            _ = try issuer.prepare(profile: profile, subjectPublicKey: subjectKey)
            Issue.record("issuance was not stopped; expected \(rule)")
        } catch let error as PKIError {
            #expect(error.code == .lintFailure, "\(error)")
            #expect(error.reason.hasPrefix(rule), "expected \(rule) first, got: \(error.reason)")
        }
    }

    @Test("The untampered profiles pass every rule")
    func cleanProfilesPass() async throws {
        let pki = try await TestPKI.make()
        _ = try pki.intermediateIssuer.prepare(profile: agentProfile(), subjectPublicKey: KeyAlgorithm.p256.generatePrivateKey().publicKey)
        #expect(Set(Linter.defaultRules.map(\.name)).count == Linter.defaultRules.count)
        #expect(Linter.defaultRules.allSatisfy { $0.citation.contains("RFC") })
    }

    @Test("e_basic_constraints_critical_consistent: a leaf with non-critical basicConstraints")
    func basicConstraintsNotCritical() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(try agentProfile())
        profile.editExtensions = { extensions in
            _ = extensions.update(try Certificate.Extension(BasicConstraints.notCertificateAuthority, critical: false))
        }
        try expectLintFailure("e_basic_constraints_critical_consistent", issuer: pki.intermediateIssuer, profile: profile)
    }

    @Test("e_key_usage_critical_consistent: a leaf with keyCertSign")
    func keyUsageCertSignOnLeaf() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(try agentProfile())
        profile.editExtensions = { extensions in
            _ = extensions.update(try Certificate.Extension(KeyUsage(digitalSignature: true, keyCertSign: true), critical: true))
        }
        try expectLintFailure("e_key_usage_critical_consistent", issuer: pki.intermediateIssuer, profile: profile)
    }

    @Test("e_path_length_constraint: an intermediate with pathLen 5")
    func pathLengthFive() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(
            try IntermediateCAProfile(subject: SubjectName.intermediate(name: "X", organization: "O", unit: nil, country: nil)))
        profile.editExtensions = { extensions in
            _ = extensions.update(try Certificate.Extension(BasicConstraints.isCertificateAuthority(maxPathLength: 5), critical: true))
        }
        try expectLintFailure("e_path_length_constraint", issuer: pki.rootIssuer, profile: profile)
    }

    @Test("e_subject_key_identifier_present: no SKI")
    func missingSKI() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(try agentProfile())
        profile.editExtensions = { extensions in _ = extensions.remove(.X509ExtensionID.subjectKeyIdentifier) }
        try expectLintFailure("e_subject_key_identifier_present", issuer: pki.intermediateIssuer, profile: profile)
    }

    @Test("e_authority_key_identifier_matches_issuer: an AKI that is not the issuer's SKI")
    func wrongAKI() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(try agentProfile())
        profile.editExtensions = { extensions in
            _ = extensions.update(
                try Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: [UInt8](repeating: 7, count: 20)[...]), critical: false))
        }
        try expectLintFailure("e_authority_key_identifier_matches_issuer", issuer: pki.intermediateIssuer, profile: profile)
    }

    @Test("e_validity_within_issuer: notAfter a day past the issuer's")
    func validityBeyondIssuer() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(try agentProfile())
        profile.validityOverride = { now, issuer in
            ValidityPeriod(notBefore: now.addingTimeInterval(-60), notAfter: (issuer.notValidAfter ?? now).addingTimeInterval(86_400))
        }
        try expectLintFailure("e_validity_within_issuer", issuer: pki.intermediateIssuer, profile: profile)
    }

    struct FixedSerials: SerialNumberSource {
        let bytes: [UInt8]
        func next() throws -> Certificate.SerialNumber { Certificate.SerialNumber(bytes: bytes) }
    }

    @Test(
        "e_serial_number_form: a zero serial, a 21-octet serial, a 20-octet one that needs a sign octet",
        arguments: [[0], [UInt8](repeating: 0x11, count: 21), [0x80] + [UInt8](repeating: 1, count: 19)])
    func badSerial(bytes: [UInt8]) async throws {
        let pki = try await TestPKI.make()
        let issuer = try CertificateIssuer(
            issuerCertificate: pki.intermediate, privateKey: pki.intermediateKey, clock: pki.clock, random: pki.random,
            serials: FixedSerials(bytes: bytes))
        try expectLintFailure("e_serial_number_form", issuer: issuer, profile: agentProfile())
    }

    @Test("e_rsa_key_strength: an RSA-1024 subject key")
    func weakRSAKey() async throws {
        let pki = try await TestPKI.make()
        let weak = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        try expectLintFailure(
            "e_rsa_key_strength", issuer: pki.intermediateIssuer, profile: agentProfile(), key: Certificate.PublicKey(weak.publicKey))
    }

    @Test("e_rsa_key_strength: an RSA-2048 subject key with e=3")
    func smallExponentRSAKey() async throws {
        let directory = try TemporaryDirectory("lint-e3")
        defer { directory.remove() }
        let result = try OpenSSL.tool().run([
            "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3",
            "-out", directory.file("k.pem"),
        ])
        #expect(result.succeeded, "\(result.output)")
        let pem = try String(contentsOfFile: directory.file("k.pem"), encoding: .utf8)
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        let pki = try await TestPKI.make()
        try expectLintFailure(
            "e_rsa_key_strength", issuer: pki.intermediateIssuer, profile: agentProfile(), key: Certificate.PublicKey(key.publicKey))
    }

    @Test("e_ec_named_curve: a P-521 subject key")
    func p521Key() async throws {
        let pki = try await TestPKI.make()
        try expectLintFailure(
            "e_ec_named_curve", issuer: pki.intermediateIssuer, profile: agentProfile(),
            key: Certificate.PublicKey(P521.Signing.PrivateKey().publicKey))
    }

    @Test("e_signature_algorithm_matches_issuer_key: a P-384 issuer signing with ecdsa-with-SHA256")
    func mismatchedSignatureAlgorithm() async throws {
        let pki = try await TestPKI.make(intermediateAlgorithm: .p384)
        let key = try P384.Signing.PrivateKey(pemRepresentation: pki.intermediateKey.serializeAsPEM().pemString)
        let issuer = try CertificateIssuer(
            issuerCertificate: pki.intermediate, privateKey: Certificate.PrivateKey(SHA256OnP384Key(key: key)), clock: pki.clock, random: pki.random)
        try expectLintFailure("e_signature_algorithm_matches_issuer_key", issuer: issuer, profile: agentProfile())
    }

    @Test("e_ca_subject_non_empty: an intermediate with an empty subject")
    func emptyCASubject() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(
            try IntermediateCAProfile(subject: SubjectName.intermediate(name: "X", organization: "O", unit: nil, country: nil)))
        profile.subjectOverride = DistinguishedName()
        try expectLintFailure("e_ca_subject_non_empty", issuer: pki.rootIssuer, profile: profile)
    }

    @Test("e_leaf_subject_alt_name_present: an agent leaf without SAN")
    func missingSAN() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(try agentProfile())
        profile.editExtensions = { extensions in _ = extensions.remove(.X509ExtensionID.subjectAlternativeName) }
        try expectLintFailure("e_leaf_subject_alt_name_present", issuer: pki.intermediateIssuer, profile: profile)
    }

    @Test("e_extended_key_usage_profile: an agent leaf with serverAuth instead of clientAuth")
    func wrongEKU() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(try agentProfile())
        profile.editExtensions = { extensions in
            _ = extensions.update(try Certificate.Extension(ExtendedKeyUsage([.serverAuth]), critical: false))
        }
        try expectLintFailure("e_extended_key_usage_profile", issuer: pki.intermediateIssuer, profile: profile)
    }

    /// Subjects that break one RFC 5280 Appendix A.1 upper bound each.
    static let overLongSubjects: [(String, @Sendable () throws -> DistinguishedName)] = [
        (
            "CN of 65",
            {
                try DistinguishedName {
                    OrganizationName("O")
                    CommonName(String(repeating: "c", count: 65))
                }
            }
        ),
        (
            "O of 65",
            {
                try DistinguishedName {
                    OrganizationName(String(repeating: "o", count: 65))
                    CommonName("x")
                }
            }
        ),
        (
            "OU of 65",
            {
                try DistinguishedName {
                    OrganizationName("O")
                    OrganizationalUnitName(String(repeating: "u", count: 65))
                }
            }
        ),
        (
            "L of 129",
            {
                try DistinguishedName {
                    LocalityName(String(repeating: "l", count: 129))
                    OrganizationName("O")
                }
            }
        ),
        (
            "ST of 129",
            {
                try DistinguishedName {
                    StateOrProvinceName(String(repeating: "s", count: 129))
                    OrganizationName("O")
                }
            }
        ),
        (
            "C of 3",
            {
                try DistinguishedName {
                    CountryName("USA")
                    OrganizationName("O")
                }
            }
        ),
        (
            "C as UTF8String",
            {
                DistinguishedName([
                    RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.countryName, utf8String: "US")),
                    RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.organizationName, utf8String: "O")),
                ])
            }
        ),
        (
            "serialNumber of 65",
            {
                DistinguishedName([
                    RelativeDistinguishedName(
                        try RelativeDistinguishedName.Attribute(type: [2, 5, 4, 5], printableString: String(repeating: "1", count: 65))),
                    RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.organizationName, utf8String: "O")),
                ])
            }
        ),
        (
            "emailAddress of 256",
            {
                DistinguishedName([
                    RelativeDistinguishedName(
                        try RelativeDistinguishedName.Attribute(
                            type: .RDNAttributeType.emailAddress, ia5String: String(repeating: "e", count: 244) + "@example.org")),
                    RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.organizationName, utf8String: "O")),
                ])
            }
        ),
        (
            "empty CN",
            {
                try DistinguishedName {
                    OrganizationName("O")
                    CommonName("")
                }
            }
        ),
    ]

    @Test(
        "e_subject_attribute_upper_bounds: an over-long attribute stops a leaf and a CA certificate",
        arguments: overLongSubjects.indices)
    func subjectUpperBounds(index: Int) async throws {
        let (label, subject) = Self.overLongSubjects[index]
        let pki = try await TestPKI.make()
        var leaf = TamperedProfile(try agentProfile())
        leaf.subjectOverride = try subject()
        try expectLintFailure("e_subject_attribute_upper_bounds", issuer: pki.intermediateIssuer, profile: leaf)
        var ca = TamperedProfile(try IntermediateCAProfile(subject: SubjectName.intermediate(name: "X", organization: "O", unit: nil, country: nil)))
        ca.subjectOverride = try subject()
        try expectLintFailure("e_subject_attribute_upper_bounds", issuer: pki.rootIssuer, profile: ca)
        _ = label
    }

    @Test("e_subject_attribute_upper_bounds: values exactly at the bounds pass (64 CN/O/OU by Unicode scalars, 128 L/ST, 2-letter C)")
    func subjectAtBounds() async throws {
        let pki = try await TestPKI.make()
        var profile = TamperedProfile(try agentProfile())
        profile.subjectOverride = try DistinguishedName {
            CountryName("DE")
            StateOrProvinceName(String(repeating: "s", count: 128))
            LocalityName(String(repeating: "l", count: 128))
            OrganizationName(String(repeating: "ö", count: 64))  // 128 UTF-8 octets, 64 characters
            OrganizationalUnitName(String(repeating: "u", count: 64))
            CommonName(String(repeating: "c", count: 64))
        }
        _ = try pki.intermediateIssuer.prepare(profile: profile, subjectPublicKey: KeyAlgorithm.p256.generatePrivateKey().publicKey)
        #expect(SubjectAttributeBoundsRule().citation.contains("RFC 5280 Appendix A"))
    }

    @Test("a root or intermediate name that would make CN exceed 64 characters is refused with the reason")
    func longCAName() async throws {
        // 60 characters + " Intermediate CA" = 76.
        let error = #expect(throws: PKIError.self) {
            _ = try SubjectName.intermediate(name: String(repeating: "n", count: 60), organization: "O", unit: nil, country: nil)
        }
        #expect(error?.reason.contains("is 76 characters; at most 64 are allowed (RFC 5280 ub-common-name)") == true, "\(error?.reason ?? "")")
        let rootError = #expect(throws: PKIError.self) {
            _ = try SubjectName.root(name: String(repeating: "r", count: 60), organization: "O", unit: nil, country: nil)
        }
        #expect(
            rootError?.reason.contains("is 68 characters; at most 64 are allowed (RFC 5280 ub-common-name)") == true, "\(rootError?.reason ?? "")")
    }
}

/// A P-384 key that insists on ecdsa-with-SHA256, standing in for a misconfigured HSM key.
struct SHA256OnP384Key: CustomPrivateKey {
    let key: P384.Signing.PrivateKey
    var publicKey: Certificate.PublicKey { Certificate.PublicKey(key.publicKey) }
    var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { .ecdsaWithSHA256 }
    var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { [.ecdsaWithSHA256] }
    func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
        try Certificate.PrivateKey(key).sign(bytes: bytes, signatureAlgorithm: signatureAlgorithm)
    }
    static func == (lhs: Self, rhs: Self) -> Bool { lhs.key.rawRepresentation == rhs.key.rawRepresentation }
    func hash(into hasher: inout Hasher) { hasher.combine(key.rawRepresentation) }
    static var defaultPEMDiscriminator: String { "PRIVATE KEY" }
    init(key: P384.Signing.PrivateKey) { self.key = key }
    func serialize(into coder: inout DER.Serializer) throws { throw PKIError.unsupported("test key is not exportable") }
}
