import Foundation
import Testing

@testable import CeremonyKit

@Suite("Ceremony plans are decoded strictly")
struct PlanDecodingTests {
    static let rootPlan = """
        ceremony: root
        rehearsal: true
        root:
          key:
            algorithm: rsa4096
            label: root-2026
            id: "01"
          subject:
            name: Example
            organization: Example Corp
            unit: PKI
            country: GB
          validity-years: 20
        """

    @Test("a valid root plan decodes with every value")
    func validRootPlan() throws {
        let plan = try CeremonyPlan.load(text: Self.rootPlan)
        #expect(plan.ceremony == .root)
        #expect(plan.isRehearsal)
        #expect(plan.root?.key.label == "root-2026")
        #expect(plan.root?.validityYears == 20)
        #expect(plan.root?.subject.country == "GB")
    }

    @Test(
        "errors name the key path",
        arguments: [
            (Self.rootPlan.replacingOccurrences(of: "validity-years", with: "validty-years"), "root.validty-years"),
            (Self.rootPlan.replacingOccurrences(of: "    unit: PKI", with: "    unit: PKI\n    colour: blue"), "root.subject.colour"),
            (Self.rootPlan.replacingOccurrences(of: "validity-years: 20", with: "validity-years: twenty"), "root.validity-years"),
            (Self.rootPlan.replacingOccurrences(of: "    label: root-2026\n", with: ""), "root.key.label"),
            (Self.rootPlan.replacingOccurrences(of: "validity-years: 20", with: "validity-years: 99"), "root.validity-years"),
            (Self.rootPlan.replacingOccurrences(of: "algorithm: rsa4096", with: "algorithm: rsa1024"), "root.key.algorithm"),
        ])
    func errorsNameKeyPath(text: String, path: String) {
        #expect {
            _ = try CeremonyPlan.load(text: text)
        } throws: { error in
            (error as? CeremonyError)?.code == .invalidPlan && "\(error)".contains(path)
        }
    }

    @Test("a duplicate key is refused")
    func duplicateKey() {
        let text = Self.rootPlan + "\nceremony: crl\n"
        #expect {
            _ = try CeremonyPlan.load(text: text)
        } throws: { error in
            "\(error)".contains("duplicate key 'ceremony'")
        }
    }

    @Test("a plan with a PIN in it is refused before anything else", arguments: ["pin: 1234", "user-pin: 1234", "so_pin: 5678", "passphrase: x"])
    func pinInPlan(line: String) {
        let text = Self.rootPlan.replacingOccurrences(of: "    id: \"01\"", with: "    id: \"01\"\n    \(line)")
        #expect {
            _ = try CeremonyPlan.load(text: text)
        } throws: { error in
            "\(error)".contains("never read from a plan") && !"\(error)".contains("1234") && !"\(error)".contains("5678")
        }
    }

    @Test("a section that does not match the ceremony is refused")
    func wrongSection() {
        let text = """
            ceremony: crl
            root:
              key: {label: a, id: "01"}
              subject: {name: A, organization: B}
            """
        #expect {
            _ = try CeremonyPlan.load(text: text)
        } throws: { error in
            "\(error)".contains("section 'root' does not belong in a 'crl' ceremony")
        }
    }

    @Test("the environment accepts only prompt, fd:N or file:/path as PIN source")
    func environmentPinSource() throws {
        let env = try CeremonyEnvironment.load(
            text: "module: /usr/lib/softhsm/libsofthsm2.so\ntoken: root-ca\npin-source: fd:3\noperator: A. Officer\n")
        #expect(env.pinSource == "fd:3")
        #expect {
            _ = try CeremonyEnvironment.load(text: "pin-source: 123456\n")
        } throws: { error in
            (error as? CeremonyError)?.code == .pinSource && !"\(error)".contains("123456")
        }
    }
}
