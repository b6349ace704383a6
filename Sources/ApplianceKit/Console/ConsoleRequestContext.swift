import Hummingbird
import NIOCore

/// Request context of the console listener: the connection's channel (for the client
/// certificate and address) and what ``ConsoleGuard`` established before the handler runs.
public struct ConsoleRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    /// Set by ``ConsoleGuard`` after the administrator certificate was accepted for this request;
    /// the guard is the router's first middleware, so no handler runs without it.
    var administrator = ConsoleAdministrator(commonName: "", role: .viewer, serial: "")
    /// The CSRF token forms on this page carry (bound to the session and the certificate).
    var csrfToken = ""
    /// The fields of a POSTed form (after its CSRF token was checked).
    var form: [String: String] = [:]
    /// The request path, for the navigation's `aria-current`.
    var path = "/"

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The audit identity of this request: the administrator's name and the client's address.
    var caller: AdminCaller {
        AdminCaller(administrator: administrator.commonName, source: ApplianceRequestContext.remoteDescription(of: channel))
    }
}
