import Crypto
import Foundation
import PKICore
import TestSupport
import Testing
import X509

/// Issue 18: the root's lifetime in calendar years with an injected clock, ISO 3166-1 country
/// codes, and the one parser of fingerprints and pins (docs/identity.md).
@Suite("Root validity in calendar years, country codes, and trust anchor identities")
struct RootIdentityTests {
    static func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test(
        "20 calendar years from 2026-12-06 end on 2046-12-06, not 2046-12-01; 29 February ends on 28 February in a common year",
        arguments: [
            ("2026-12-06T09:30:00Z", 20, "2046-12-06T09:30:00Z"),
            ("2028-02-29T12:00:00Z", 5, "2033-02-28T12:00:00Z"),
            ("2028-02-29T12:00:00Z", 20, "2048-02-29T12:00:00Z"),
            ("2026-01-31T00:00:00Z", 30, "2056-01-31T00:00:00Z"),
        ])
    func calendarYears(start: String, years: Int, end: String) throws {
        #expect(RootValidity.years(years).notAfter(signedAt: Self.utc(start)) == Self.utc(end))
        // Through the profile and the issuer, with the injected clock: the certificate says so too.
        let clock = FixedClock(Self.utc(start))
        let profile = try RootCAProfile(
            subject: SubjectName.root(name: "Calendar", organization: "Test", unit: nil, country: "GB"), validity: .years(years), now: clock.now())
        let period = try profile.validity(
            now: clock.now(), issuer: IssuerSummary(name: profile.subject, keyIdentifier: nil, notValidBefore: nil, notValidAfter: nil))
        #expect(period.notAfter == Self.utc(end))
        #expect(period.notBefore == Self.utc(start).addingTimeInterval(-300))
        // 365-day years would have ended earlier (the bug this replaces).
        #expect(Self.utc(start).addingTimeInterval(TimeInterval(years) * ValidityPolicy.year) < Self.utc(end))
    }

    @Test("a root of fewer than 5 or more than 30 years, or ending before 5 years are up, is refused")
    func bounds() throws {
        let now = Self.utc("2026-12-06T09:30:00Z")
        let subject = try SubjectName.root(name: "Bounds", organization: "Test", unit: nil, country: nil)
        for validity in [RootValidity.years(4), .years(31), .until(Self.utc("2031-12-05T00:00:00Z")), .until(Self.utc("2056-12-07T00:00:00Z"))] {
            #expect(throws: PKIError.self, "\(validity)") { try RootCAProfile(subject: subject, validity: validity, now: now) }
        }
        for validity in [RootValidity.years(5), .years(30), .until(Self.utc("2031-12-06T00:00:00Z")), .until(Self.utc("2056-12-06T23:00:00Z"))] {
            #expect(throws: Never.self, "\(validity)") { try RootCAProfile(subject: subject, validity: validity, now: now) }
        }
    }

    @Test("country codes are the assigned ISO 3166-1 alpha-2 codes; UK is refused with GB")
    func countries() {
        for good in ["GB", "DE", "US", "FR", "JP", "AX", "SS"] { #expect(throws: Never.self) { try CountryCode(good) } }
        for (bad, hint) in [
            ("UK", "did you mean 'GB'"), ("EL", "did you mean 'GR'"), ("gb", "write 'GB'"), ("ZZ", "not an assigned"), ("G", "two upper-case"),
            ("GBR", "two upper-case"),
        ] {
            #expect { try CountryCode(bad) } throws: { ($0 as? PKIError)?.reason.contains(hint) == true }
        }
        #expect(throws: PKIError.self) { try SubjectName.root(name: "A", organization: "B", unit: nil, country: "UK") }
    }

    @Test("one parser accepts the certificate SHA-256, the SPKI SHA-256 (hex, colons, either case) and the agent pin, and names which matched")
    func identities() async throws {
        let pki = try await TestPKI.make()
        let identifiers = try CertificateIdentifiers(pki.root)
        #expect(identifiers.certificateSHA256 == Array(SHA256.hash(data: try PEMCodec.der(pki.root))))
        #expect(identifiers.agentPin == pki.root.publicKey.spkiPin)
        let spkiHex = Hex.encode(identifiers.spkiSHA256)
        let colons = stride(from: 0, to: 64, by: 2).map { String(Array(spkiHex)[$0..<$0 + 2]) }.joined(separator: ":").uppercased()
        for (text, match) in [
            (Hex.encode(identifiers.certificateSHA256), TrustAnchorIdentity.Match.certificateSHA256),
            (spkiHex, .spkiSHA256), (colons, .spkiSHA256), (identifiers.agentPin, .spkiSHA256),
        ] {
            let identity = try TrustAnchorIdentity(parsing: text, source: "test")
            #expect(identity.match(pki.root) == match, "\(text)")
            #expect(identity.match(pki.intermediate) == nil, "\(text)")
        }
        // The pin form names an SPKI only: a certificate SHA-256 written as a pin does not match.
        let certAsPin = "sha256/" + Data(identifiers.certificateSHA256).base64EncodedString()
        #expect(try TrustAnchorIdentity(parsing: certAsPin, source: "test").match(pki.root) == nil)
        for bad in ["", "abc", String(repeating: "g", count: 64), "sha256/abc", String(repeating: "ab", count: 31)] {
            #expect { try TrustAnchorIdentity(parsing: bad, source: "--root-fingerprint") } throws: {
                ($0 as? PKIError)?.reason.hasPrefix("--root-fingerprint:") == true
            }
        }
        // A mismatch names the expected value and its source, not the other certificate's.
        let expected = try TrustAnchorIdentity(parsing: spkiHex, source: "the paper log")
        let message = expected.mismatch("the intermediate")
        let other = try CertificateIdentifiers(pki.intermediate)
        #expect(message.contains(spkiHex) && message.contains("from the paper log"))
        #expect(
            !message.contains(Hex.encode(other.spkiSHA256)) && !message.contains(Hex.encode(other.certificateSHA256))
                && !message.contains(other.agentPin))
    }
}
