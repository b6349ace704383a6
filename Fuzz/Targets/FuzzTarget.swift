import Crypto
import Foundation
import X509

@testable import ApplianceKit
@testable import CeremonyKit
@testable import PKCS11
@testable import PKICore

/// One parser that sees outside bytes, and how a fuzz input is fed to it (scripts/fuzz/README.md).
/// A target must never trap, leak unboundedly or hang on any input: a thrown error is the
/// expected refusal. The libFuzzer binary (Fuzz/RootkeeperFuzz, built only by scripts/fuzz/run.sh)
/// drives these; `swift test` replays every committed input that once broke one
/// (Tests/FuzzRegressionTests). This module is built in debug only (its `@testable` imports reach
/// internal parsers); no product depends on it.
public struct FuzzTarget: Sendable {
    public let name: String
    /// Feeds one input; returns whether the target's main parser accepted it (the seed test
    /// checks the seeds are valid; the fuzzer ignores it).
    public let run: @Sendable ([UInt8]) -> Bool

    public static let all: [FuzzTarget] = [
        // PKCS#10 from EST and from the media bundle, then the issuance policy (docs/profiles.md#csr-policy).
        FuzzTarget(name: "csr") { bytes in
            let decoded = (try? CSRDecoder.decode(bytes)) != nil
            _ = try? CSRPolicy(purpose: .agent).evaluate(bytes)
            _ = try? CSRPolicy(purpose: .intermediateCA).evaluate(bytes)
            return decoded
        },
        // The responder's POST body (RFC 6960 §A.1).
        FuzzTarget(name: "ocsp-request") { bytes in
            (try? OCSPRequest(derEncoded: bytes)) != nil
        },
        // EST simpleenroll/simplereenroll bodies (RFC 7030 §4.2.1): base64 of a DER PKCS#10.
        FuzzTarget(name: "est-body") { bytes in
            (try? ESTRequestParsing.csr(fromBody: bytes)) != nil
        },
        // PEM/DER certificates, chains, public keys and labelled DER; PKCS#7 certs-only.
        FuzzTarget(name: "pem") { bytes in
            let certificate = (try? PEMCodec.certificate(from: bytes)) != nil
            let key = (try? PEMCodec.publicKey(from: bytes)) != nil
            _ = try? PEMCodec.derBytes(from: bytes, label: "CERTIFICATE REQUEST")
            _ = try? PEMCodec.certificates(fromPEM: String(decoding: bytes, as: UTF8.self))
            let pkcs7 = (try? PKCS7CertsOnly(derEncoded: bytes)) != nil
            return certificate || key || pkcs7
        },
        // Encrypted PKCS#8 (PBES2 with scrypt or PBKDF2, RFC 8018 §6.2, RFC 7914 §7).
        FuzzTarget(name: "pkcs8") { bytes in
            (try? EncryptedPrivateKey.decrypt(bytes, passphrase: Array("fuzz passphrase".utf8))) != nil
        },
        // Media bundle from the online world: MANIFEST, SUMMARY and what `ceremony inspect` reads in
        // it. An input with a NUL is SUMMARY \0 payload, verified under a MANIFEST made for it.
        FuzzTarget(name: "bundle") { bytes in
            var accepted = (try? BundleManifest(parsing: bytes)) != nil
            _ = try? MediaBundle.verify(files: [MediaBundle.manifestName: bytes, MediaBundle.summaryName: Array("summary\n".utf8)])
            let split = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            if split.count == 2 {
                let summary = Array(split[0])
                let payload = Array(split[1])
                let manifest = "\(SHA256.hash(data: payload).hexString)  csr.pem\n\(SHA256.hash(data: summary).hexString)  SUMMARY\n"
                if let bundle = try? MediaBundle.verify(files: [
                    MediaBundle.manifestName: Array(manifest.utf8), MediaBundle.summaryName: summary, "csr.pem": payload,
                ]) {
                    accepted = true
                    _ = bundle.summary.split(separator: "\n")
                }
            }
            if (try? Inspector.describe(bytes: bytes, name: "fuzz")) != nil { accepted = true }
            return accepted
        },
        // The root database file and the anchor object on the token.
        FuzzTarget(name: "root-db") { bytes in
            let database = (try? RootDatabase.decode(Data(bytes))) != nil
            let anchor = (try? RootAnchor.decode(bytes)) != nil
            return database || anchor
        },
        // The ceremony transcript (hash chain of canonical JSON lines).
        FuzzTarget(name: "transcript") { bytes in
            (try? Transcript.verify(contents: Data(bytes))) != nil
        },
        // Ceremony plan and environment YAML (StrictYAML over Yams).
        FuzzTarget(name: "yaml") { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            let plan = (try? CeremonyPlan.load(text: text)) != nil
            let environment = (try? CeremonyEnvironment.load(text: text)) != nil
            return plan || environment
        },
        // Backup archive header, one sealed chunk under a fixed key, and the decrypted payload's manifest.
        FuzzTarget(name: "backup") { bytes in
            guard let header = try? BackupHeader(parsing: bytes) else {
                return (try? BackupManifest.parse(payload: bytes)) != nil
            }
            let record = bytes.dropFirst(BackupHeader.size)
            let stream = BackupStream(key: SymmetricKey(data: [UInt8](repeating: 7, count: 32)), header: header)
            guard let payload = try? stream.open(record, index: 0, final: true, chunkCount: 1) else { return false }
            return (try? BackupManifest.parse(payload: payload)) != nil
        },
        // One line on the admin socket (JSON AdminRequest).
        FuzzTarget(name: "admin") { bytes in
            (try? JSONDecoder().decode(AdminRequest.self, from: Data(bytes))) != nil
        },
        // PKCS#11 URIs (RFC 7512) and token selectors from plans, environments and options.
        FuzzTarget(name: "pkcs11-uri") { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            let uri = (try? PKCS11URI(parsing: text)) != nil
            let selector = (try? TokenSelector(parsing: text)) != nil
            return uri || selector
        },
        // The strict DER walker under CRLs and OCSP: every element, recursively, then the decoders.
        FuzzTarget(name: "der") { bytes in
            let walked = walk(bytes[...], depth: 0)
            let crl = (try? CertificateRevocationList(derEncoded: bytes)) != nil
            let ocsp = (try? OCSPResponse(derEncoded: bytes)) != nil
            return walked && (crl || ocsp || (try? PEMCodec.certificate(from: bytes)) != nil)
        },
    ]

    /// Reads every TLV of `bytes`, descending into constructed ones (tag bit 0x20).
    /// Returns whether every TLV read.
    private static func walk(_ bytes: ArraySlice<UInt8>, depth: Int) -> Bool {
        guard depth < 64 else { return true }
        var reader = CompactDERReader(bytes)
        var complete = true
        while !reader.isAtEnd {
            guard let element = try? reader.read("element") else { return false }
            if element.tag & 0x20 != 0 { complete = walk(element.content, depth: depth + 1) && complete }
            _ = try? CompactDERReader.unsignedMagnitude(element.content, "integer")
            _ = try? CompactDERReader.smallInteger(element.content, "integer")
        }
        return complete
    }
}
