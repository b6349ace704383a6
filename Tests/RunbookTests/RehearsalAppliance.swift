import Foundation
import TestSupport
import Testing

/// An appliance state ready to serve, made the way Runbooks/appliance-install.md makes one (a
/// rehearsal root ceremony on SoftHSM, `appliance init`, the intermediate ceremony, install of the
/// intermediate and the root CRL), with the real binaries. The state belongs to `nobody`, the
/// configured service user. Nothing is serving yet.
struct RehearsalAppliance {
    let work: TemporaryDirectory
    /// The binaries' directory (`ceremony`, `appliance`).
    let binDirectory: String
    var state: String { work.file("state") }
    var config: String { work.file("etc/appliance.yaml") }
    var passphraseFile: String { work.file("etc/intermediate.passphrase") }
    var media: String { work.file("media") }

    /// Builds it in a fresh directory (0755, so an unprivileged service user can reach it).
    init(binDirectory: String = ProductBinary.productsDirectory.path) throws {
        work = try TemporaryDirectory("rehearsal-appliance")
        chmod(work.path, 0o755)
        self.binDirectory = binDirectory
        let script = """
            set -euo pipefail
            cd "$WORK"
            source "$RUNBOOKS/rehearsal/root-ca.sh" >/dev/null
            mkdir -p "$WORK/etc" && chmod 755 "$WORK/etc"
            cat > "$WORK/etc/appliance.yaml" <<YAML
            state_directory: $WORK/state
            user: nobody
            https:
              address: 127.0.0.1
              port: 0
            http:
              address: 127.0.0.1
              port: 0
            ca:
              organization: Example Corp
              intermediate_name: Example
            server:
              fqdn: localhost
              ip_addresses: 127.0.0.1
            YAML
            (umask 077 && openssl rand -base64 32 > "$WORK/etc/intermediate.passphrase")
            appliance init --config "$WORK/etc/appliance.yaml" --media "$MEDIA" --passphrase-file "$WORK/etc/intermediate.passphrase" > init.txt
            CSR_SPKI=$(awk '/^SPKI SHA-256:/ { print $3 }' init.txt)
            CSR_WORDS=$(sed -n 's/^PGP words 1-16: //p' init.txt)
            ceremony template intermediate --rehearsal --media "$MEDIA" --expected-spki-sha256 "$CSR_SPKI" > "$WORK/plans/intermediate.yaml"
            PAPER_LOG=$(ceremony verify-transcript "$MEDIA" | sed -n 's/^words: //p')
            printf 'yes\\n%s\\n%s\\n' "$PAPER_LOG" "$CSR_WORDS" | ceremony run "$WORK/plans/intermediate.yaml" --media "$MEDIA" --env "$CEREMONY_ENV" >/dev/null
            appliance intermediate install --state-dir "$WORK/state" --from "$MEDIA/intermediate-cert" --root-fingerprint "$ROOT_FPR" >/dev/null
            appliance crl install-root --state-dir "$WORK/state" --from "$MEDIA/crl" >/dev/null
            chown -R nobody "$WORK/state"
            """
        let result = try ExternalTool("bash").run(
            ["-c", script],
            environment: [
                "PATH": binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
                "WORK": work.path, "RUNBOOKS": RunbookExecutionTests.runbooksDirectory.path,
            ], timeout: 300)
        guard result.succeeded else {
            work.remove()
            throw TestFailure("the rehearsal appliance could not be built (\(result.status)):\n\(result.output)")
        }
    }

    /// `appliance` with the SoftHSM configuration of the rehearsal.
    func appliance(_ arguments: [String], environment: [String: String] = [:]) throws -> ExternalTool.Result {
        try ExternalTool(binDirectory + "/appliance").run(arguments, environment: environment, timeout: 120)
    }

    func remove() {
        _ = ProcessReaper.terminate(commandLineContaining: work.path)
        work.remove()
    }

}
