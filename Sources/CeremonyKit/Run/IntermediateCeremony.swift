import Crypto
import Foundation
import PKCS11
import PKICore
import SecureFiles
import X509

/// The intermediate ceremony (docs/ceremony.md#intermediate-ceremony): verify the CSR bundle from the media, compare the CSR's
/// key with the whole SPKI SHA-256 in the plan, show the officer what will be signed, require the
/// PGP words of that hash typed from the appliance operator's printout, sign with the root key
/// found by its pinned SPKI, record it in the root database and write the certificate and chain.
///
/// The CSR's SPKI SHA-256 and its words are shown only after the typed words matched: the
/// officer types from paper, so the match is made against what the appliance printed, not
/// against what this screen shows.
struct IntermediateCeremony {
    static let csrFile = "intermediate.csr"

    let plan: IntermediateCeremonyPlan
    let context: CeremonyContext

    func run() async throws -> [String] {
        let console = context.console
        let outputName = plan.outputBundle ?? "intermediate-cert"
        let outputPath = context.path(outputName)
        guard !FileManager.default.fileExists(atPath: outputPath) else {
            throw CeremonyError.media("\(outputPath) already exists; outputs are never overwritten (set intermediate.output-bundle)")
        }
        let databaseStore = RootDatabaseStore(media: context.media)
        var database = try databaseStore.load(expectedSHA256: try context.recordedRootDatabaseHash())
        let root = try RootMaterial.load(context: context, pinned: plan.rootKey, database: database, planKey: "intermediate.root-key")

        // The CSR bundle: every file checked against MANIFEST before the CSR is parsed.
        let csrBundleName = plan.csrBundle ?? "intermediate-csr"
        let bundle: MediaBundle
        do {
            bundle = try BundleDirectory.read(from: context.path(csrBundleName))
        } catch {
            throw CeremonyError.media("the CSR bundle \(context.path(csrBundleName)) is refused: \(ErrorText.of(error))")
        }
        guard let csrBytes = bundle.file(Self.csrFile) else {
            throw CeremonyError.media("the CSR bundle has no \(Self.csrFile)")
        }
        let review: CSRReview
        switch try CSRPolicy(purpose: .intermediateCA).evaluate(csrBytes) {
        case .reject(let reason):
            try context.transcript.append(
                actor: context.tool, event: "csr.rejected", inputs: context.hashes(of: bundle, in: csrBundleName), details: ["reason": reason])
            throw CeremonyError.refused("the intermediate CSR is refused: \(reason)")
        case .accept(let accepted):
            review = accepted
        }
        let planCheck: String
        if plan.expectedSPKISHA256 != nil {
            try IntermediateCeremony.checkExpectedKey(plan, csrKeySPKISHA256: review.csr.publicKey.spkiSHA256)
            planCheck = "matched the plan's expected-spki-sha256"
        } else {
            guard context.rehearsal else {
                throw CeremonyError.plan("intermediate.expected-spki-sha256 is required outside a rehearsal")
            }
            planCheck = "no expected-spki-sha256 in this rehearsal plan"
        }

        let profile = try Self.profile(for: plan, subject: review.csr.subject)
        let issuer = try CertificateIssuer(
            issuerCertificate: root.certificate, privateKey: Certificate.PrivateKey(root.key), clock: context.clock,
            random: context.random)
        let token = try issuer.prepare(profile: profile, csr: review.csr)

        console.show("")
        console.show("=== intermediate CSR to sign ===")
        console.show("subject:           \(review.csr.subject)")
        console.show("key:               \(review.keyAlgorithm)")
        console.show("SPKI SHA-256:      \(planCheck) (shown in full after confirmation)")
        if review.requestedExtensions.isEmpty {
            console.show("requested extensions: none")
        } else {
            for requested in review.requestedExtensions { console.show("requested:         \(requested)") }
        }
        console.show("the profile puts in: basicConstraints CA:TRUE pathLen 0 (critical); keyUsage keyCertSign, cRLSign (critical);")
        console.show("                     SKI, AKI = root SKI\(plan.crlURL.map { "; CRL DP \($0)" } ?? "")")
        console.show(
            "validity:          \(token.notValidBefore) – \(token.notValidAfter) (never beyond the root's \(root.certificate.notValidAfter))")
        console.show("serial:            \(token.serialNumber.hex)")
        let confirmation = try confirm(spki: review.spkiSHA256Hex)
        let words = PGPWordList.words(for: Hex.decode(review.spkiSHA256Hex) ?? [])
        console.show("confirmed (\(confirmation)):")
        console.show("  SPKI SHA-256:    \(review.spkiSHA256Hex)")
        console.show("  PGP words 1-16:  \(words.prefix(16).joined(separator: " "))")

        try context.transcript.append(
            actor: context.officer, event: "csr.approved", inputs: context.hashes(of: bundle, in: csrBundleName),
            details: [
                "subject": "\(review.csr.subject)", "spki-sha256": review.spkiSHA256Hex, "serial": token.serialNumber.hex,
                "plan-check": planCheck, "confirmation": confirmation,
            ])
        let certificate = try await issuer.issue(token)

        let der = try PEMCodec.der(certificate)
        let chain = try PEMCodec.pemChain([certificate, root.certificate])
        let output = try MediaBundle(
            payload: ["intermediate-ca.crt": Array(try PEMCodec.pem(certificate).utf8), "ca-chain.crt": Array(chain.utf8)],
            summary: """
                Rootkeeper intermediate CA certificate
                subject: \(certificate.subject)
                issuer: \(certificate.issuer)
                serial: \(certificate.serialNumber.hex)
                valid: \(certificate.notValidBefore) – \(certificate.notValidAfter)
                SPKI SHA-256: \(review.spkiSHA256Hex)
                certificate SHA-256: \(Array(SHA256.hash(data: der)).hexString)
                root certificate SHA-256: \(database.root.certificateSHA256)

                """)
        try BundleDirectory.write(output, to: outputPath)

        database.issued.append(
            RootDatabase.Issued(
                serial: Array(certificate.serialNumber.bytes).hexString, subject: "\(certificate.subject)",
                spkiSHA256: review.spkiSHA256Hex, certificateSHA256: Array(SHA256.hash(data: der)).hexString,
                notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter, issuedAt: context.clock.now()))
        try databaseStore.save(database)

        var outputs = context.hashes(of: output, in: outputName)
        outputs[RootCeremony.rootDatabaseOutput] = try database.sha256()
        try context.transcript.append(
            actor: context.tool, event: "intermediate.signed", outputs: outputs, token: context.token.identity,
            details: ["subject": "\(certificate.subject)", "serial": Array(certificate.serialNumber.bytes).hexString])
        console.show("intermediate certificate and chain written to \(outputPath)")
        return outputs.keys.sorted()
    }

    /// The intermediate profile the plan asks for (`ceremony check` builds it too).
    static func profile(for plan: IntermediateCeremonyPlan, subject: DistinguishedName) throws -> IntermediateCAProfile {
        do {
            return try IntermediateCAProfile(
                subject: subject, pointers: try RevocationPointers(crlURL: plan.crlURL),
                validity: TimeInterval(plan.validityYears ?? 5) * ValidityPolicy.year)
        } catch let error as PKIError {
            throw CeremonyError.plan("intermediate plan: \(error.reason)")
        }
    }

    /// Refuses a CSR whose key is not the plan's `expected-spki-sha256` (from the appliance
    /// operator's printout). The message names the expected value and the plan, not the CSR's.
    static func checkExpectedKey(_ plan: IntermediateCeremonyPlan, csrKeySPKISHA256: [UInt8]) throws {
        guard let expected = plan.expectedSPKISHA256 else { return }
        let identity = try TrustAnchorIdentity(
            parsing: expected, source: "the plan's intermediate.expected-spki-sha256, copied from the appliance operator's printout")
        guard identity.matchesKey(spkiSHA256: csrKeySPKISHA256) else {
            throw CeremonyError.refused(
                identity.mismatch("the key of the CSR on the media (\(plan.csrBundle ?? "intermediate-csr"))", keyOnly: true)
                    + "; nothing was signed: the bundle on the media is not the one the appliance operator printed. Ask for a new bundle and printout"
            )
        }
    }

    /// The officer types PGP words 1-16 (at least 128 bits) of the CSR key's SPKI SHA-256 from the
    /// appliance operator's printout; the words are never shown before they are typed, and hex is
    /// refused. A rehearsal may pass the whole hash with `--yes-i-have-checked` instead.
    /// - Returns: how the key was confirmed, for the transcript.
    func confirm(spki: String) throws -> String {
        if let preconfirmed = context.preconfirmedSPKI {
            guard context.rehearsal else {
                throw CeremonyError.refused("--yes-i-have-checked is for scripted rehearsals only; a live ceremony asks the officer to type")
            }
            guard preconfirmed.lowercased() == spki else {
                throw CeremonyError.refused(
                    "--yes-i-have-checked \(preconfirmed) does not match the key of the CSR on the media; its own hash is not shown: "
                        + "compare the value you gave with the appliance operator's printout")
            }
            context.console.show("confirmed by --yes-i-have-checked (rehearsal)")
            return "--yes-i-have-checked (rehearsal)"
        }
        let key = KeyConfirmation(spkiSHA256: Hex.decode(spki) ?? [])
        let answer = context.console.ask(
            "Type PGP words 1-\(KeyConfirmation.minimumTypedWords) of the CSR key's SPKI SHA-256 from the appliance operator's printout (anything else aborts):"
        )
        switch key.check(typed: answer ?? "") {
        case .confirmed(let count):
            return "\(count) PGP words typed from the printout"
        case .refused(let reason):
            throw CeremonyError.refused("not confirmed: \(reason); nothing was signed")
        }
    }
}
