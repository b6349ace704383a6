import ApplianceKit
import Foundation
import Testing

@Suite("Appliance configuration")
struct ConfigurationTests {
    @Test("defaults match docs/configuration.md: HTTPS 8443, HTTP 8080, 16 KiB EST bodies")
    func defaults() throws {
        let configuration = ApplianceConfiguration()
        #expect(configuration.https.port == 8443)
        #expect(configuration.http.port == 8080)
        #expect(configuration.https.address == "0.0.0.0")
        #expect(configuration.limits.maxESTBodyBytes == 16384)
        try configuration.validate()
    }

    @Test(
        "YAML values are applied and an unknown or misspelt key is an error naming its path",
        arguments: [
            ("https:\n  prot: 9443\n", "https.prot"),
            ("limits:\n  max_body: 3\n", "limits.max_body"),
            ("tls:\n  cert: x\n", "tls"),
            ("https:\n  port: [1, 2]\n", "https.port"),
            ("https:\n  port: eighty\n", "https.port"),
        ])
    func strictYAML(yaml: String, path: String) throws {
        let error = #expect(throws: ApplianceError.self) { try ApplianceConfiguration.load(yaml: yaml) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.reason.hasPrefix(path + ":") == true, "\(String(describing: error))")
    }

    @Test("a valid file is loaded and environment variables override it")
    func environmentOverrides() throws {
        let loaded = try ApplianceConfiguration.load(yaml: "https:\n  port: 9443\nlimits:\n  max_est_body_bytes: 8192\n")
        #expect(loaded.https.port == 9443)
        #expect(loaded.limits.maxESTBodyBytes == 8192)
        let overridden = try loaded.applyingEnvironment(["ROOTKEEPER_HTTPS_PORT": "10443", "ROOTKEEPER_STATE_DIRECTORY": "/srv/rk"])
        #expect(overridden.https.port == 10443)
        #expect(overridden.stateDirectory == "/srv/rk")
        let error = #expect(throws: ApplianceError.self) { try loaded.applyingEnvironment(["ROOTKEEPER_HTTP_PORT": "x"]) }
        #expect(error?.reason.contains("ROOTKEEPER_HTTP_PORT") == true)
    }

    @Test("a misspelt ROOTKEEPER_ variable is refused with the name it was probably meant to be")
    func misspeltEnvironmentVariable() throws {
        let misspelt = #expect(throws: ApplianceError.self) {
            try ApplianceConfiguration().applyingEnvironment(["ROOTKEEPER_HTTPS_PROT": "10443"])
        }
        #expect(misspelt?.code == .invalidConfiguration)
        #expect(
            misspelt?.reason == "ROOTKEEPER_HTTPS_PROT is set but is not a configuration variable (did you mean "
                + "ROOTKEEPER_HTTPS_PORT?); unset it or correct its name (every key and its variable is listed in docs/configuration.md)",
            "\(String(describing: misspelt))")
        let unrelated = #expect(throws: ApplianceError.self) {
            try ApplianceConfiguration().applyingEnvironment(["ROOTKEEPER_SOMETHING_ELSE_ENTIRELY": "1"])
        }
        #expect(
            unrelated?.reason.hasPrefix("ROOTKEEPER_SOMETHING_ELSE_ENTIRELY is set but is not a configuration variable;") == true,
            "\(String(describing: unrelated))")
        // The test harness's own variables and other tools' settings pass.
        let fine = try ApplianceConfiguration().applyingEnvironment([
            "ROOTKEEPER_TEST_TOKEN_REMOVED": "/tmp/x", "ROOTKEEPER_BIN_DIR": "/x", "HOME": "/root",
        ])
        #expect(fine.https.port == ApplianceConfiguration().https.port)
    }

    @Test("validation rejects unusable values and names the key")
    func validation() throws {
        var configuration = ApplianceConfiguration()
        configuration.https.port = 70000
        #expect(throws: ApplianceError.configuration("https.port", "must be 0…65535, got 70000")) { try configuration.validate() }
        configuration = ApplianceConfiguration()
        configuration.limits.maxESTBodyBytes = 10
        let error = #expect(throws: ApplianceError.self) { try configuration.validate() }
        #expect(error?.reason.hasPrefix("limits.max_est_body_bytes") == true)
    }

    @Test("docs/configuration.md documents every key and its environment variable")
    func documented() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/configuration.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        for key in ConfigurationKey.all {
            #expect(text.contains("`\(key.path)`"), "\(key.path) undocumented")
            #expect(text.contains("`\(key.environmentVariable)`"), "\(key.environmentVariable) undocumented")
        }
    }
}
