import ApplianceKit
import Foundation
import PKICore
import SecureFiles
import TestSupport
import X509

/// Runs `appliance init` into a temporary state directory and plays the root ceremony with a
/// run-time test root, producing the bundle the real ceremony writes.
struct SetupHarness {
    let directory: TemporaryDirectory
    let state: StateDirectory
    let media: String
    let pki: TestPKI
    let passphrase = SecretBytes(utf8: "correct horse battery staple")
    static let request = IntermediateRequest(commonName: "Rootkeeper Intermediate", organization: "Rootkeeper Test", unit: "PKI", country: "US")

    static func make() async throws -> SetupHarness {
        let directory = try TemporaryDirectory("rootkeeper-setup")
        let media = directory.file("media")
        try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)
        return SetupHarness(
            directory: directory, state: StateDirectory(path: directory.file("state")), media: media,
            pki: try await TestPKI.make())
    }

    func initialize() async throws -> ApplianceSetup.CSRResult {
        try await ApplianceSetup.initialize(
            stateDirectory: state, configuration: Self.request, keyBackend: .file(passphrase: passphrase), media: media)
    }

    /// Signs the CSR in `csrBundle` with `rootKey` under `root` (the ceremony), writing `out`.
    func ceremony(
        csrBundle: String, out: String, root: Certificate? = nil, rootKey: Certificate.PrivateKey? = nil,
        overrideKey: Certificate.PublicKey? = nil
    ) async throws {
        let bundle = try BundleDirectory.read(from: csrBundle)
        let csr = try CSRDecoder.decode(requireBytes(bundle.file(ApplianceSetup.csrFileName)))
        let root = root ?? pki.root
        let signer = try CertificateIssuer(
            issuerCertificate: root, privateKey: rootKey ?? pki.rootKey, clock: pki.clock, random: SystemRandomSource())
        let profile = try IntermediateCAProfile(subject: csr.subject)
        let certificate = try await signer.issue(signer.prepare(profile: profile, subjectPublicKey: overrideKey ?? csr.publicKey))
        let output = try MediaBundle(
            payload: [
                "intermediate-ca.crt": Array(try PEMCodec.pem(certificate).utf8),
                "ca-chain.crt": Array(try PEMCodec.pemChain([certificate, root]).utf8),
            ],
            summary: "test ceremony output\n")
        try BundleDirectory.write(output, to: out)
    }

    var rootFingerprint: String { get throws { try ApplianceSetup.fingerprint(pki.root) } }

    func remove() { directory.remove() }
}

func requireBytes(_ bytes: [UInt8]?) throws -> [UInt8] {
    guard let bytes else { throw TestFailure("missing file in bundle") }
    return bytes
}
