#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import KexbootCore
import KexbootOS
import KexbootProtocol

extension Server {
    /// Requests a restricted client may make (a non-root user who has not authenticated).
    static let restrictedRequests: Set<String> = ["list", "status", "subscribe", "unsubscribe", "cancel-autoboot", "authenticate"]

    func handle(_ line: [UInt8], from c: Connection) {
        let request: Request
        switch Request.decode(line) {
        case .success(let r): request = r
        case .failure(let e): return send(c, e.response)
        }
        let id = request.id
        func fail(_ code: ProtocolV1.ErrorCode, _ message: String) { send(c, ProtocolV1.error(id: id, code, message)) }
        func ok(_ result: JSONValue) { send(c, ProtocolV1.result(id: id, result)) }
        func params(_ allowed: Set<String>) -> Bool {
            let unknown = (request.params.objectMembers ?? []).map(\.0).filter { !allowed.contains($0) }
            if let first = unknown.first { fail(.invalidParams, "unknown parameter \"\(first)\""); return false }
            return true
        }
        if c.access == .none, request.name != "authenticate" {
            return fail(.unauthorized, "authenticate with the token first")
        }
        guard ProtocolV1.requests.contains(request.name) else {
            return fail(.unknownRequest, "no request \"\(request.name)\" (known: \(ProtocolV1.requests.joined(separator: ", ")))")
        }
        switch c.access {
        case .full: break
        case .none:
            guard request.name == "authenticate" else { return fail(.unauthorized, "authenticate with the token first") }
        case .restricted:
            let allowed = Server.restrictedRequests.contains(request.name)
                || (request.name == "boot" && isDefaultBoot(request.params))
            guard allowed else {
                return fail(.unauthorized, config.passwordHash == nil
                    ? "\(request.name) needs root"
                    : "\(request.name) needs root or the password (authenticate)")
            }
        }

        switch request.name {
        case "list":
            guard params([]) else { return }
            if listCache?.generation != registry.generation {
                let devices = JSONValue.array(registry.devices.map(\.json)).serialized(compact: true)
                let options = JSONValue.array(registry.options.map(\.json)).serialized(compact: true)
                listCache = (registry.generation, #"{"devices":"# + devices + #","options":"# + options)
            }
            send(c, id: id, rawResult: listCache!.text + #","default":"# + JSONValue.optional(currentDefault?.id).serialized(compact: true)
                    + #","autoboot":"# + autobootJSON.serialized(compact: true) + "}")
        case "status":
            guard params([]) else { return }
            ok(.object([
                ("version", .string(settings.version)),
                ("protocol", .int(ProtocolV1.version)),
                ("dry_run", .bool(settings.dryRun)),
                ("uptime", .int(Int(EventLoop.now() - started))),
                ("devices", .int(registry.devices.count)),
                ("options", .int(registry.options.count)),
                ("default", .optional(currentDefault?.id)),
                ("booting", .bool(booting)),
                ("autoboot", autobootJSON),
                ("clients", .int(connections.count)),
                ("access", .string(c.access.rawValue)),
            ]))
        case "subscribe":
            guard params([]) else { return }
            c.subscribed = true
            ok(.object([("events", .array(ProtocolV1.events.map(JSONValue.string)))]))
        case "unsubscribe":
            guard params([]) else { return }
            c.subscribed = false
            ok(.object([]))
        case "cancel-autoboot":
            guard params([]) else { return }
            let stopped = cancelAutoboot(by: c.name)
            ok(.object([("cancelled", .bool(stopped)), ("autoboot", autobootJSON)]))
        case "authenticate":
            guard params(["password", "token"]) else { return }
            authenticate(request, c)
        case "boot":
            guard params(["option", "kernel", "initrds", "dtb", "args", "device", "title"]) else { return }
            bootRequest(request, c)
        case "rescan":
            guard params([]) else { return }
            rescan { devices in ok(.object([("devices", .int(devices))])) }
        case "attach-image":
            guard params(["path"]) else { return }
            guard let path = request.string("path"), path.hasPrefix("/") else { return fail(.invalidParams, "\"path\": an absolute path to a disk image") }
            attach(image: path) { result in
                switch result {
                case .success(let n): ok(.object([("path", .string(path)), ("devices", .int(n))]))
                case .failure(let e): fail(.failed, "\(e)")
                }
            }
        case "detach-image":
            guard params(["path"]) else { return }
            guard let path = request.string("path") else { return fail(.invalidParams, "\"path\" is required") }
            guard detach(image: path) else { return fail(.notFound, "\(path) is not attached") }
            ok(.object([("path", .string(path))]))
        case "add-url":
            guard params(["url"]) else { return }
            guard let url = request.string("url"), url.contains("://") else { return fail(.invalidParams, "\"url\": a URL") }
            addURL(url) { result in
                switch result {
                case .success(let data): ok(data)
                case .failure(let e):
                    fail(ProtocolV1.ErrorCode(e), "\(e)")
                }
            }
        case "config-get":
            guard params(["key"]) else { return }
            if let key = request.string("key") {
                guard let value = config.value(key) else { return fail(.notFound, "no setting \(key)") }
                ok(.object([(key, value)]))
            } else {
                ok(config.json)
            }
        case "config-set":
            guard params(["key", "value"]) else { return }
            configSet(request, c, ok: ok, fail: fail)
        case "log":
            guard params(["lines"]) else { return }
            let n = max(0, min(request.params["lines"]?.intValue ?? 100, 1000))
            ok(.object([("lines", .array(logLines.suffix(n).map(JSONValue.string)))]))
        default:
            fail(.unknownRequest, "no request \"\(request.name)\"")
        }
    }

    /// A boot that names nothing, or names the current default: what a restricted client
    /// may ask for.
    func isDefaultBoot(_ params: JSONValue) -> Bool {
        let keys = (params.objectMembers ?? []).map(\.0)
        if keys.isEmpty { return true }
        guard keys == ["option"], let id = params["option"]?.stringValue else { return false }
        return id == currentDefault?.id
    }

    /// Checks a password (Unix socket) or token (TCP). Wrong guesses are slowed per uid or
    /// TCP peer, not per connection, so opening more connections does not guess faster:
    /// each failure holds that peer's next attempt for a second (five seconds after ten
    /// failures), and the answer comes only then. Five wrong guesses end a connection.
    func authenticate(_ request: Request, _ c: Connection) {
        let id = request.id
        let now = EventLoop.now()
        if let throttle = authThrottle[c.throttleKey], throttle.until > now {
            // Another guess from this peer is still being held: this one waits its turn.
            c.paused = true
            watch(c)
            loop.schedule(after: throttle.until - now) { [self] in
                guard !c.closed else { return }
                c.paused = false
                authenticate(request, c)
                process(c)
            }
            return
        }
        let good: Bool
        switch c.transport {
        case .tcp:
            guard let token = request.string("token") else {
                return send(c, ProtocolV1.error(id: id, .invalidParams, "\"token\" is required on TCP"))
            }
            good = config.token.map { constantTimeEqual($0, token) } ?? false
        case .unix:
            guard let password = request.string("password") else {
                return send(c, ProtocolV1.error(id: id, .invalidParams, "\"password\" is required"))
            }
            guard let hash = config.passwordHash else {
                return send(c, ProtocolV1.error(id: id, .unauthorized, "no password is set; only root has full access"))
            }
            guard let matches = PasswordHash.matches(password, hash: hash) else {
                log(.error, "password: the hash in the config is not one crypt(3) understands")
                return send(c, ProtocolV1.error(id: id, .failed, "the configured password hash is unusable"))
            }
            good = matches
        }
        if good {
            c.access = .full
            authThrottle[c.throttleKey] = nil
            log(.info, "\(c.name) authenticated")
            send(c, ProtocolV1.result(id: id, .object([("access", .string("full"))])))
            return
        }
        c.failedAuthentications += 1
        let failures = (authThrottle[c.throttleKey]?.failures ?? 0) + 1
        let delay: Double = failures > 10 ? 5 : 1
        if authThrottle.count > 4096 { authThrottle = authThrottle.filter { $0.value.until > now } }
        authThrottle[c.throttleKey] = (failures, now + delay)
        log(.warning, "\(c.name): authentication failed (\(failures) from \(c.throttleKey))")
        // The connection reads nothing more until the answer goes out: guesses cannot be
        // pipelined, and the loop does not wait.
        c.paused = true
        watch(c)
        loop.schedule(after: delay) { [self] in
            guard !c.closed else { return }
            c.paused = false
            send(c, ProtocolV1.error(id: id, .unauthorized, "wrong \(c.transport == .tcp ? "token" : "password")"))
            if c.failedAuthentications >= 5 {
                // Whatever else it sent goes unanswered: the connection ends here.
                c.pendingLines.removeAll()
                c.oversized = false
                c.closeAfterFlush = true
                log(.warning, "\(c.name): too many failed authentications")
            }
            process(c)
        }
    }

    func bootRequest(_ request: Request, _ c: Connection) {
        let id = request.id
        guard !booting else { return send(c, ProtocolV1.error(id: id, .busy, "another boot is under way")) }
        let reply: (Result<JSONValue, KexbootError>) -> Void = { [self] result in
            switch result {
            case .success(let data): send(c, ProtocolV1.result(id: id, data))
            case .failure(let e): send(c, ProtocolV1.error(id: id, ProtocolV1.ErrorCode(e), "\(e)"))
            }
        }
        if let kernel = request.string("kernel").map(restoringCredentials) {
            if request.params["option"] != nil {
                return send(c, ProtocolV1.error(id: id, .invalidParams, "give \"option\" or \"kernel\", not both"))
            }
            var initrds: [Resource] = []
            if let list = request.params["initrds"] {
                guard let items = list.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                    return send(c, ProtocolV1.error(id: id, .invalidParams, "\"initrds\" is a list of strings"))
                }
                initrds = items.compactMap(\.stringValue).map { Resource(parsing: restoringCredentials($0)) }
            }
            var device: ServerDevice?
            if let name = request.string("device") {
                guard let d = registry.device(name) else {
                    return send(c, ProtocolV1.error(id: id, .notFound, "no device \(name)"))
                }
                device = d
            }
            let boot = EntryBooter.Request(
                title: request.string("title") ?? "custom: \(kernel)", kernel: Resource(parsing: kernel), initrds: initrds,
                devicetree: request.string("dtb").map { Resource(parsing: restoringCredentials($0)) },
                args: restoringCredentials(request.string("args") ?? ""), device: device)
            self.boot(boot, optionID: nil, automatic: false, reply: reply)
            return
        }
        let optionID = request.string("option") ?? currentDefault?.id
        guard let optionID, let option = registry.option(optionID) else {
            return send(c, ProtocolV1.error(id: id, .notFound, request.string("option").map { "no option \($0)" } ?? "there is no default option"))
        }
        boot(option: option, automatic: false, reply: reply)
    }

    /// Clients see URLs with their passwords hidden (`send`); what one sends back, as the
    /// menu's edit form sends an option's kernel, initrds and arguments, gets them again
    /// from the devices and options the daemon offers.
    func restoringCredentials(_ text: String) -> String {
        guard text.contains("***@") else { return text }
        var known = registry.devices.flatMap { [$0.disk, $0.config ?? ""] }
        for o in registry.options {
            let b = o.option
            known += ([b.kernel, b.devicetree].compactMap { $0 } + b.initrds).map(\.description) + [b.args]
        }
        return URLText.restoringCredentials(in: text, from: known.flatMap(URLText.credentialedOrigins(in:)))
    }

    func configSet(_ request: Request, _ c: Connection, ok: (JSONValue) -> Void, fail: (ProtocolV1.ErrorCode, String) -> Void) {
        guard let key = request.string("key") else { return fail(.invalidParams, "\"key\" is required") }
        let value: String
        switch request.params["value"] {
        case .string(let s)?: value = s
        case .int(let i)?: value = String(i)
        case .bool(let b)?: value = b ? "true" : "false"
        case .null?: value = ""
        default: return fail(.invalidParams, "\"value\" is required (a string, number or boolean)")
        }
        guard DaemonConfig.isKey(key) else { return fail(.notFound, "no setting \(key)") }
        guard !value.contains("\n") else { return fail(.invalidParams, "a value is one line") }
        var updated = config
        do {
            try updated.set(key, value)
        } catch {
            return fail(.invalidParams, "\(error)")
        }
        var persisted = false
        var note: String?
        if let path = config.path {
            let text = config.text(setting: key, to: value)
            do {
                try writeAtomically(text, to: path)
                persisted = true
                // Keep the file's lines in step with what was written.
                updated = DaemonConfig(text: text, path: path)
            } catch {
                note = "\(error)"
                log(.warning, "config-set \(key): not saved: \(error)")
            }
        } else {
            note = "the daemon was started without --config: the change lasts until it stops"
        }
        let autobootChanged = key == "autoboot" || key == "timeout" || key == "boot-order" || key == "settle"
        config = updated
        log(.info, "\(c.name) set \(key)\(DaemonConfig.secretKeys.contains(key) ? "" : " = \(value)")")
        if autobootChanged {
            if key == "autoboot", !config.autoboot {
                stopTimers()
                autoboot = .disabled
                broadcast("autoboot", autobootJSON)
            } else if key == "autoboot", config.autoboot, autoboot == .disabled, !settings.noAutoboot, switches.autoboot != false {
                autoboot = .idle
            }
            if key != "autoboot", pendingAutobootOption != nil {
                stopTimers()
                autoboot = .idle
            }
            reconsiderAutoboot()
        }
        var result: [(String, JSONValue)] = [(key, config.value(key) ?? .null), ("persisted", .bool(persisted))]
        if let note { result.append(("note", .string(note))) }
        ok(.object(result))
    }

    func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KexbootError(.ioError, "creating \(temporary)", cause: Errno(errno)) }
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let e = errno
                close(fd)
                unlink(temporary)
                throw KexbootError(.ioError, "writing \(temporary)", cause: Errno(e))
            }
            done += n
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            throw KexbootError(.ioError, "replacing \(path)", cause: Errno(e))
        }
    }
}

/// Compares secrets without leaving how much matched in the time taken.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}

extension ProtocolV1.ErrorCode {
    /// The protocol's code for a failure the daemon ran into.
    init(_ error: KexbootError) {
        switch error.code {
        case .notFound: self = .notFound
        case .unsupported: self = .unsupported
        default: self = .failed
        }
    }
}
