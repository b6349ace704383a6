import Testing

@testable import PKCS11

@Suite("PKCS#11 URIs (RFC 7512) and token selection")
struct PKCS11URITests {
    @Test(
        "valid URIs parse with percent-decoding",
        arguments: [
            ("pkcs11:token=root-ca", PKCS11URI(token: "root-ca")),
            ("pkcs11:token=Root%20CA;serial=1a2b3c", PKCS11URI(token: "Root CA", serial: "1a2b3c")),
            ("pkcs11:manufacturer=SoftHSM%20project;model=SoftHSM%20v2", PKCS11URI(manufacturer: "SoftHSM project", model: "SoftHSM v2")),
            ("pkcs11:object=root;id=%01%02%ff;type=private", PKCS11URI(object: "root", id: [1, 2, 255], type: "private")),
            ("PKCS11:token=a%3Bb", PKCS11URI(token: "a;b")),
            ("pkcs11:slot-id=3;token=x", PKCS11URI(token: "x")),
        ])
    func parses(text: String, expected: PKCS11URI) throws {
        #expect(try PKCS11URI(parsing: text) == expected)
    }

    @Test(
        "malformed URIs are refused with a reason",
        arguments: [
            ("token=root", "starts with"),
            ("pkcs11:token", "has no value"),
            ("pkcs11:token=a;token=b", "appears twice"),
            ("pkcs11:id=%0", "bad percent-escape"),
            ("pkcs11:id=%zz", "bad percent-escape"),
            ("pkcs11:tokn=root", "unknown attribute"),
            ("pkcs11:token=root?pin-value=1234", "query attributes"),
            ("pkcs11:type=banana", "is not one of"),
            ("pkcs11:token=%ff%fe", "not valid UTF-8"),
        ])
    func refuses(text: String, reason: String) {
        let error = #expect(throws: PKCS11Error.self) { try PKCS11URI(parsing: text) }
        #expect(error?.code == .malformedURI)
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test("a URI survives a round trip through its text form")
    func roundTrip() throws {
        let uri = PKCS11URI(token: "Root CA;1", manufacturer: "A/B", serial: "00ff", object: "k", id: [0, 0x7f])
        #expect(try PKCS11URI(parsing: uri.description) == uri)
    }

    static func token(_ label: String, _ serial: String) -> PKCS11TokenInfo {
        PKCS11TokenInfo(
            slot: 0, label: label, serial: serial, manufacturer: "SoftHSM project", model: "SoftHSM v2", flags: 0,
            mechanisms: [], supportsRSA4096Generation: true, supportsP384Generation: true)
    }

    @Test("selectors parse from the environment's token value")
    func selectorParsing() throws {
        #expect(try TokenSelector(parsing: "root-ca") == .label("root-ca"))
        #expect(try TokenSelector(parsing: "serial:abc") == .serial("abc"))
        #expect(try TokenSelector(parsing: "pkcs11:token=root-ca") == .uri(PKCS11URI(token: "root-ca")))
    }

    @Test("a selector finds exactly one token, or says what is present or what is ambiguous")
    func selection() throws {
        let tokens = [Self.token("root-ca", "1"), Self.token("spare", "2"), Self.token("spare", "3")]
        #expect(try TokenSelector.label("root-ca").select(from: tokens).serial == "1")
        #expect(try TokenSelector.serial("3").select(from: tokens).label == "spare")
        #expect(try TokenSelector.uri(PKCS11URI(token: "spare", serial: "2")).select(from: tokens).serial == "2")

        let missing = #expect(throws: PKCS11Error.self) { try TokenSelector.label("nope").select(from: tokens) }
        #expect(missing?.code == .tokenNotFound)
        #expect(missing?.reason.contains("token not found") == true && missing?.reason.contains("\"root-ca\" serial 1") == true)

        let ambiguous = #expect(throws: PKCS11Error.self) { try TokenSelector.label("spare").select(from: tokens) }
        #expect(ambiguous?.code == .ambiguousToken)
        #expect(ambiguous?.reason.contains("2 tokens match") == true)

        let none = #expect(throws: PKCS11Error.self) { try TokenSelector.label("x").select(from: []) }
        #expect(none?.reason.contains("no tokens are present") == true)
    }
}
