import KexbootCore

extension Server {
    /// The countdown's length: `kexboot.timeout=`, else the daemon config's, else the
    /// boot config's own, else 10 s. -1 waits for a choice.
    func timeout(for option: ServerOption) -> Int {
        switches.timeout ?? config.timeout ?? option.configTimeout ?? 10
    }

    /// The default option that autoboot would boot now.
    var currentDefault: ServerOption? {
        config.bootOrder.candidates(registry, excluding: tried).first
            ?? registry.options.first { $0.isDefault }
    }

    var autobootJSON: JSONValue {
        func object(_ state: String, _ option: String?, _ seconds: Int?) -> JSONValue {
            .object([("state", .string(state)), ("option", .optional(option)),
                     ("title", .optional(option.flatMap { registry.option($0)?.option.title })), ("seconds", .optional(seconds))])
        }
        switch autoboot {
        case .idle: return object("idle", nil, nil)
        case .counting(let option, let seconds, _): return object("counting", option, seconds)
        case .settling(let option, _): return object("settling", option, 0)
        case .waiting(let option): return object("waiting", option, nil)
        case .cancelled: return object("cancelled", nil, nil)
        case .disabled: return object("disabled", nil, nil)
        case .done: return object("done", nil, nil)
        }
    }

    var pendingAutobootOption: String? {
        switch autoboot {
        case .counting(let o, _, _), .settling(let o, _), .waiting(let o): o
        default: nil
        }
    }

    func stopTimers() {
        switch autoboot {
        case .counting(_, _, let timer), .settling(_, let timer): loop.cancel(timer: timer)
        default: break
        }
    }

    /// Called whenever the options change: starts a countdown for the best default, or
    /// moves a pending one to a better default that has appeared (starting again from
    /// the full timeout, as petitboot does), or stops it when its option went away.
    func reconsiderAutoboot() {
        switch autoboot {
        case .cancelled, .disabled, .done: return
        default: break
        }
        guard !booting else { return }
        guard let best = config.bootOrder.candidates(registry, excluding: tried).first else {
            if pendingAutobootOption != nil {
                stopTimers()
                autoboot = .idle
                log(.info, "autoboot: the default went away")
                broadcast("autoboot", autobootJSON)
            }
            return
        }
        if pendingAutobootOption == best.id { return }
        stopTimers()
        let seconds = timeout(for: best)
        if seconds < 0 {
            autoboot = .waiting(option: best.id)
        } else {
            log(.info, "autoboot: \"\(best.option.title)\" (\(best.id)) in \(seconds) s")
            autoboot = .counting(option: best.id, seconds: seconds, timer: loop.schedule(after: seconds == 0 ? 0 : 1) { [self] in tick() })
        }
        broadcast("autoboot", autobootJSON)
    }

    func tick() {
        guard case .counting(let option, let seconds, _) = autoboot else { return }
        let left = max(0, seconds - 1)
        if left > 0 {
            autoboot = .counting(option: option, seconds: left, timer: loop.schedule(after: 1) { [self] in tick() })
            broadcast("autoboot", autobootJSON)
            return
        }
        // Only a device the boot order ranks higher could still win; when the candidate
        // matches the first rule, nothing can, and there is nothing to wait for.
        let rank = registry.option(option).flatMap { registry.device($0.device) }.flatMap { config.bootOrder.priority(of: $0) } ?? 0
        let settleLeft = Double(config.settle) - (EventLoop.now() - started)
        if rank > 0, settleLeft > 0 {
            autoboot = .settling(option: option, timer: loop.schedule(after: settleLeft) { [self] in fire() })
            broadcast("autoboot", autobootJSON)
            return
        }
        fire()
    }

    func fire() {
        guard let id = pendingAutobootOption, let option = registry.option(id) else { return }
        autoboot = .done
        broadcast("autoboot", .object([("state", .string("booting")), ("option", .string(id)),
                                       ("title", .string(option.option.title)), ("seconds", .int(0))]))
        boot(option: option, automatic: true, reply: nil)
    }

    /// `cancel-autoboot`, or a key pressed in a UI.
    func cancelAutoboot(by who: String) -> Bool {
        guard pendingAutobootOption != nil || autoboot == .idle else { return false }
        stopTimers()
        autoboot = .cancelled
        log(.info, "autoboot cancelled by \(who)")
        broadcast("autoboot", autobootJSON)
        return true
    }

    /// A failed automatic boot: the next candidate gets its turn (each option is tried
    /// once, so this cannot loop).
    func autobootFailed(_ option: ServerOption) {
        tried.insert(option.id)
        autoboot = .idle
        reconsiderAutoboot()
    }
}
