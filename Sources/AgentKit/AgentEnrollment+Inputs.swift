import Foundation
import X509

extension AgentEnrollment {
    /// The appliance URL of `--server`, refused with the form it must have: `https://HOST:PORT`
    /// (EST runs over TLS only, RFC 7030 §3.3), a missing `https://` named as such.
    public static func serverURL(_ text: String) throws -> URL {
        let form = "https://HOST:PORT, or https://[ADDRESS]:PORT for IPv6"
        guard text.contains("://") else {
            throw AgentError(.invalidInput, "--server \(text) is missing https://: give it as https://\(text) (the form is \(form))")
        }
        guard let url = URL(string: text), let scheme = url.scheme else {
            throw AgentError(.invalidInput, "--server \(text) is not a URL; give it as \(form)")
        }
        guard scheme.lowercased() == "https" else {
            throw AgentError(.invalidInput, "--server \(text) uses \(scheme)://; the appliance's EST listener is https:// only: \(form)")
        }
        guard let host = url.host, !host.isEmpty else {
            throw AgentError(.invalidInput, "--server \(text) names no host; give it as \(form)")
        }
        return url
    }

    /// The environment of a renewal hook for `certificate` (``RenewalHook/environment(files:certificate:hostname:)``).
    public func hookEnvironment(for certificate: Certificate) throws -> [String: String] {
        RenewalHook.environment(files: files, certificate: certificate, hostname: try agentState().hostname)
    }
}
