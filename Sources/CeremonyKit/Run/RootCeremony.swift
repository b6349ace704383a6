import Crypto
import Foundation
import PKCS11
import PKICore
import SecureFiles
import X509

/// The root ceremony (docs/ceremony.md#root-ceremony): generate the root key pair inside the token with the explicit
/// template, read its attributes back, self-sign the root certificate (lint before sign), write
/// the root bundle to the media and create the root database. The runner then anchors the new
/// database in the token (``RootAnchor``).
struct RootCeremony {
    static let bundleDirectory = "root"
    static let rootDatabaseOutput = "root-db/root-db.json"

    let plan: RootCeremonyPlan
    let context: CeremonyContext

    /// The root profile the plan asks for, checked for a root signed at `now`: the subject (names
    /// and ISO 3166 country) and the validity (5–30 calendar years, docs/profiles.md#root-ca).
    /// `ceremony check` builds it too, so a plan that would fail here fails before any key exists.
    static func profile(for plan: RootCeremonyPlan, now: Date) throws -> RootCAProfile {
        do {
            let subject = try SubjectName.root(
                name: plan.subject.name, organization: plan.subject.organization, unit: plan.subject.unit, country: plan.subject.country)
            guard let validity = plan.validity else { throw CeremonyError.plan("root.not-after must be a date such as 2046-12-06") }
            return try RootCAProfile(subject: subject, validity: validity, now: now)
        } catch let error as PKIError {
            throw CeremonyError.plan("root plan: \(error.reason); change the plan and have the witnesses review it again")
        }
    }

    func run() async throws -> [String] {
        let console = context.console
        let bundlePath = context.path(Self.bundleDirectory)
        let databaseStore = RootDatabaseStore(media: context.media)
        // Refuse before the key exists: outputs are never overwritten.
        guard !FileManager.default.fileExists(atPath: bundlePath) else {
            throw CeremonyError.media("\(bundlePath) already exists; a root ceremony needs fresh media")
        }
        guard !databaseStore.exists else { throw CeremonyError.media("\(databaseStore.path) already exists; a root ceremony needs fresh media") }
        // A token that already anchors a root database belongs to a root: a second root on it
        // would leave two roots answering to one anchor.
        if let anchor = context.anchor {
            throw CeremonyError.refused(
                "the token already holds a root anchor (\(RootAnchor.label), root key \(anchor.rootSPKISHA256)): a root ceremony needs a token that holds no root yet"
            )
        }

        let spec: PKCS11KeySpec = plan.key.algorithm == "p384" ? .p384 : .rsa4096
        guard let keyID = Hex.decode(plan.key.id, typed: true) else { throw CeremonyError.plan("root.key.id is not hex") }
        console.show("generating \(spec) key pair \"\(plan.key.label)\" (ID \(plan.key.id)) inside the token…")
        let pair: GeneratedKeyPair
        do {
            pair = try context.token.session.generateKeyPair(spec, label: plan.key.label, id: keyID)
        } catch {
            let hint =
                (error as? PKCS11Error)?.code == .objectExists
                ? ": choose another root.key.label and root.key.id in the plan (the witnesses review it again), or use an empty token"
                : ""
            throw CeremonyError(.token, "key generation refused: \(ErrorText.of(error))\(hint)")
        }
        console.show("key attributes read back from the token:")
        for line in pair.attributes.description.split(separator: "\n") { console.show("  \(line)") }
        let spkiHex = pair.publicKey.spkiSHA256Hex
        // Mark the token as holding a production or rehearsal root, so the other kind of plan is
        // refused on it from now on.
        let rootKind = RootKindMarker.Kind(rehearsal: context.rehearsal)
        do {
            try RootKindMarker.mark(context.token.session, as: rootKind)
        } catch {
            throw CeremonyError(.token, "cannot mark the token's root as \(rootKind.rawValue) (\(RootKindMarker.label)): \(ErrorText.of(error))")
        }
        try context.transcript.append(
            actor: context.tool, event: "key.generated", token: context.token.identity,
            details: [
                "algorithm": "\(spec)", "label": plan.key.label, "id": plan.key.id, "spki-sha256": spkiHex,
                "root-kind": rootKind.rawValue,
                "attributes": pair.attributes.description.replacingOccurrences(of: "\n", with: "; "),
            ])

        let profile = try Self.profile(for: plan, now: context.clock.now())
        let issuer = try CertificateIssuer.selfSigned(
            privateKey: Certificate.PrivateKey(pair.privateKey), clock: context.clock, random: context.random)
        let token = try issuer.prepare(profile: profile, subjectPublicKey: pair.publicKey)
        console.show("linted root certificate: \(token.subject), serial \(token.serialNumber.hex)")
        let certificate = try await issuer.issue(token)

        let der = try PEMCodec.der(certificate)
        let bundle = try MediaBundle(
            payload: [
                "root-ca.crt": Array(try PEMCodec.pem(certificate).utf8),
                "root-ca.der": der,
                "root-ca.pub.pem": Array(try PEMCodec.pem(certificate.publicKey).utf8),
            ],
            summary: """
                Rootkeeper root CA certificate
                subject: \(certificate.subject)
                serial: \(certificate.serialNumber.hex)
                not before: \(certificate.notValidBefore)
                not after: \(certificate.notValidAfter)
                key: \(spec) in token "\(context.token.session.token.label)" (serial \(context.token.session.token.serial))
                SPKI SHA-256: \(spkiHex)
                certificate SHA-256: \(Array(SHA256.hash(data: der)).hexString)

                """)
        try BundleDirectory.write(bundle, to: bundlePath)

        let database = RootDatabase(
            root: RootDatabase.Root(
                subject: "\(certificate.subject)", keyLabel: plan.key.label, spkiSHA256: spkiHex,
                certificateSHA256: Array(SHA256.hash(data: der)).hexString, notBefore: certificate.notValidBefore,
                notAfter: certificate.notValidAfter))
        try databaseStore.create(database)

        var outputs = context.hashes(of: bundle, in: Self.bundleDirectory)
        outputs[Self.rootDatabaseOutput] = try database.sha256()
        try context.transcript.append(
            actor: context.tool, event: "root.self-signed", outputs: outputs, token: context.token.identity,
            details: ["subject": "\(certificate.subject)", "serial": certificate.serialNumber.hex, "spki-sha256": spkiHex])

        console.show("")
        console.show("root certificate written to \(bundlePath)")
        console.show("  subject:            \(certificate.subject)")
        console.show("  valid:              \(certificate.notValidBefore) – \(certificate.notValidAfter)")
        console.show("  serial:             \(certificate.serialNumber.hex)")
        let identifiers = try CertificateIdentifiers(certificate)
        console.show("Root identifiers (witnesses: write all three in the paper log; docs/identity.md):")
        for line in identifiers.lines { console.show("  \(line)") }
        console.show("Later steps ask for one of them: plans pin the root by its SPKI SHA-256, `appliance intermediate install`")
        console.show("takes --root-fingerprint, agents take --pin; each accepts any of the three.")
        return outputs.keys.sorted()
    }
}
