import Logging

/// Turns one ``AdminRequest`` into calls on the ``AdministrationService`` and renders the lines
/// the CLI prints (docs/commands.md#output-for-scripts: lists start each line with the ID; `token` ends with the token).
struct AdminDispatcher: Sendable {
    let service: any AdministrationService
    let logger: Logger

    func handle(_ request: AdminRequest, caller: AdminCaller) async -> AdminResponse {
        logger.info("admin request", metadata: ["command": "\(request.command)", "uid": "\(caller.uid)", "pid": "\(caller.pid)"])
        do {
            if let list = try await listing(request, caller: caller) {
                return AdminResponse(ok: true, lines: list.map { "\($0.id) \($0.summary)" }, entries: list)
            }
            return AdminResponse(ok: true, lines: try await dispatch(request, caller: caller))
        } catch let error as ApplianceError {
            return AdminResponse(ok: false, error: error.reason)
        } catch {
            return AdminResponse(ok: false, error: "\(error)")
        }
    }

    /// The entries of a list command (nil for any other command).
    private func listing(_ request: AdminRequest, caller: AdminCaller) async throws -> [AdminEntry]? {
        switch request.command {
        case "agents.list": return try await service.listAgents(caller: caller)
        case "certs.list": return try await service.listCertificates(caller: caller)
        case "admins.list": return try await service.listAdministrators(caller: caller)
        case "certs.expiring":
            guard let days = Int(request.arguments["days"] ?? "30"), days > 0 else {
                throw ApplianceError.malformed("--days must be a positive whole number of days, such as 30")
            }
            return try await service.expiringCertificates(withinDays: days, caller: caller)
        default: return nil
        }
    }

    private func dispatch(_ request: AdminRequest, caller: AdminCaller) async throws -> [String] {
        let arguments = request.arguments
        func required(_ name: String) throws -> String {
            guard let value = arguments[name], !value.isEmpty else {
                throw ApplianceError.malformed("\(request.command) needs \(name)")
            }
            return value
        }
        func fields(_ list: [AdminField]) -> [String] { list.map { "\($0.name): \($0.value)" } }
        let reason = arguments["reason"] ?? "unspecified"
        switch request.command {
        case "agents.show": return fields(try await service.showAgent(id: try required("id"), caller: caller))
        case "agents.approve": return [try await service.approveAgent(id: try required("id"), caller: caller)]
        case "agents.reject": return [try await service.rejectAgent(id: try required("id"), reason: reason, caller: caller)]
        case "agents.release":
            return [try await service.releaseRegistration(id: try required("id"), reason: arguments["reason"] ?? "", caller: caller)]
        case "agents.revoke": return [try await service.revokeAgent(id: try required("id"), reason: reason, caller: caller)]
        case "agents.token":
            let token = try await service.createToken(hostname: arguments["hostname"], caller: caller)
            return ["enrolment token: \(token)"]
        case "certs.show": return fields(try await service.showCertificate(serial: try required("serial"), caller: caller))
        case "certs.revoke":
            return [try await service.revokeCertificate(serial: try required("serial"), reason: reason, caller: caller)]
        case "crl.generate": return [try await service.generateCRL(caller: caller)]
        case "admins.add":
            return [
                try await service.addAdministrator(
                    name: try required("name"), role: try required("role"), publicKeyPEM: try required("publicKey"), caller: caller)
            ]
        case "admins.revoke": return try await service.revokeAdministrator(name: try required("name"), reason: reason, caller: caller)
        default: throw ApplianceError.malformed("unknown admin command \(request.command)")
        }
    }
}
