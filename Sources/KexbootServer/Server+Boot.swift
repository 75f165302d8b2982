#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import KexbootCore
import KexbootDevices
import KexbootOS
import KexbootProtocol

extension Server {
    typealias Reply = (Result<JSONValue, RequestError>) -> Void

    func boot(option: ServerOption, automatic: Bool, reply: ((Result<JSONValue, KexbootError>) -> Void)?) {
        guard let device = registry.device(option.device) else {
            reply?(.failure(KexbootError(.notFound, "\(option.device) is gone")))
            return
        }
        do {
            let request = try EntryBooter.Request(option, device: device)
            boot(request, optionID: option.id, automatic: automatic, reply: reply)
        } catch let error as KexbootError {
            bootFailed(optionID: option.id, title: option.option.title, error: error, automatic: automatic)
            reply?(.failure(error))
        } catch {
            reply?(.failure(KexbootError(.ioError, "\(error)")))
        }
    }

    /// Fetches, plans and (unless in a dry run) kexecs. In a dry run the plan is announced
    /// exactly as a real boot announces itself, and the daemon carries on.
    func boot(_ request: EntryBooter.Request, optionID: String?, automatic: Bool, reply: ((Result<JSONValue, KexbootError>) -> Void)?) {
        guard !booting else {
            reply?(.failure(KexbootError(.invalidArgument, "another boot is under way")))
            return
        }
        booting = true
        stopTimers()
        if pendingAutobootOption != nil {
            // Someone chose: the countdown is over, and stays over if this boot fails.
            autoboot = .cancelled
            log(.info, "autoboot cancelled: \"\(request.title)\" was chosen")
            broadcast("autoboot", autobootJSON)
        }
        log(.info, "preparing \"\(request.title)\"")
        let devices = registry.devices
        let dryRun = settings.dryRun
        var fetcher = self.fetcher
        if let proxy = request.device?.proxy {
            fetcher.settings.proxy = proxy
            fetcher.settings.httpsProxy = proxy
        }
        nonisolated(unsafe) let reply = reply
        let shimSettings = EntryBooter.ShimSettings(directory: settings.shimDirectory, deviceTree: settings.deviceTree,
                                                    bootpath: settings.ofBootpath)
        let syscall = switches.kexec ?? config.kexec
        // The boot's own disk: scans of it queued before now are waited for (they may move
        // its node); scans of other disks are not.
        let disk = request.device.flatMap { $0.directory != nil || $0.type == "network" ? nil : $0.disk }
        let ticket = disk.map { scanner.ticket(disk: $0) } ?? 0
        work.async { [booter, loop, scanner, fetcher] in
            var prepared: Result<BootPlan, KexbootError> = .failure(KexbootError(.ioError, "not prepared"))
            var started = monotonicSeconds()
            var copied = started
            scanner.using(disk: disk, after: ticket) {
                started = monotonicSeconds()
                copied = started
                do {
                    // Scans queued before this job may have moved devices to other nodes.
                    let devices = scanner.current(devices)
                    var request = request
                    if let device = request.device {
                        guard let now = devices.first(where: { $0.id == device.id }) else {
                            throw KexbootError(.notFound, "\(device.id) is gone")
                        }
                        request.device = now
                    }
                    let plan: BootPlan
                    if request.shim {
                        // An Open Firmware client: shim, bundle, tree, kexec entry (docs/ofshim.md).
                        let of = try booter.prepareShim(request, devices: devices, fetcher: fetcher, settings: shimSettings)
                        copied = monotonicSeconds()
                        if !dryRun { try Kexec.load(shim: of) }
                        plan = of.bootPlan(client: request.title, clientSize: UInt64(of.segments.first { $0.what == "bundle" }?.bytes.count ?? 0),
                                           args: request.args)
                    } else {
                        let planned = try booter.prepare(request, devices: devices, fetcher: fetcher, syscall: syscall) { file, bytes, total, rate in
                            loop.execute { [self] in
                                broadcast("status", .object([
                                    ("level", .string("progress")), ("message", .string("\(file.contains("://") ? "fetching" : "copying") \(file)")), ("file", .string(file)),
                                    ("bytes", .uint(bytes)), ("total", .uint(total)), ("rate", .uint(rate)),
                                ]))
                            }
                        }
                        copied = monotonicSeconds()
                        // The plan as loaded: kexec_file_load may have handed over to kexec_load.
                        plan = dryRun ? planned : try Kexec.load(planned)
                    }
                    prepared = .success(plan)
                } catch let error as KexbootError {
                    prepared = .failure(error)
                } catch {
                    prepared = .failure(KexbootError(.ioError, "\(error)"))
                }
            }
            let outcome = prepared
            let timing = "files ready in \(Self.seconds(copied - started)), loaded in \(Self.seconds(monotonicSeconds() - copied))"
            // Once loaded (or in a dry run, once planned), the copies are not needed.
            if dryRun || (try? outcome.get()) == nil { booter.clean() }
            loop.execute { [self] in
                switch outcome {
                case .success(let plan):
                    log(.debug, timing + " (\(plan.method.rawValue))")
                    let data = JSONValue.object([
                        ("option", .optional(optionID)), ("title", .string(request.title)), ("dry_run", .bool(dryRun)),
                        ("plan", plan.json),
                    ])
                    announce("kexboot: booting \"\(request.title)\"")
                    if dryRun { announce(plan.json.serialized(compact: true)) }
                    broadcast("boot-started", data)
                    reply?(.success(data))
                    if dryRun {
                        booting = false
                    } else {
                        execute()
                    }
                case .failure(let error):
                    booting = false
                    bootFailed(optionID: optionID, title: request.title, error: error, automatic: automatic)
                    reply?(.failure(error))
                }
            }
        }
    }

    func bootFailed(optionID: String?, title: String, error: KexbootError, automatic: Bool) {
        log(.error, "cannot boot \"\(title)\": \(error)")
        broadcast("boot-failed", .object([("option", .optional(optionID)), ("title", .string(title)), ("error", .string("\(error)"))]))
        if automatic, let id = optionID, let option = registry.option(id) {
            autobootFailed(option)
        } else if automatic, let id = optionID {
            tried.insert(id)
            autoboot = .idle
            reconsiderAutoboot()
        }
    }

    /// The point of no return: clients are told and let go, every mount kexboot made is
    /// released, links go down, and the loaded kernel starts.
    func execute() {
        // Give the clients one second, all together, to take the boot-started event.
        let deadline = EventLoop.now() + 1
        var waiting = connections.values.filter { $0.flush() && $0.wantsWrite }
        while !waiting.isEmpty, EventLoop.now() < deadline {
            var fds = waiting.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), Int32(max(1, (deadline - EventLoop.now()) * 1000)))
            waiting = waiting.filter { $0.flush() && $0.wantsWrite }
        }
        shutdown()
        sync()
        let stuck = Links.downAll()
        if !stuck.isEmpty { fputs("kexboot-daemon: could not take \(stuck.joined(separator: ", ")) down\n", stderr) }
        do {
            try Kexec.execute()
        } catch {
            // The loaded kernel could not start. Nothing is left to serve: let /init
            // start the daemon again.
            fputs("kexboot-daemon: kexec failed: \(error)\n", stderr)
            exit(1)
        }
    }
}

extension Kexec {
    /// Loads the shim's plan; Open Firmware clients start only on POWER.
    static func load(shim plan: OFShimPlan) throws {
        #if arch(powerpc64) || arch(powerpc64le)
        try load(segments: plan.segments.map { ($0.bytes, $0.mem, $0.memsz) }, entry: plan.entry)
        #else
        throw KexbootError(.unsupported, "Open Firmware clients start only on ppc64 (the plan is made anywhere: try a dry run)")
        #endif
    }
}

extension Server {
    /// `1.23 s`, for timings in the log.
    static func seconds(_ value: Double) -> String {
        let centis = Int((value * 100).rounded())
        let frac = centis % 100
        return "\(centis / 100).\(frac < 10 ? "0" : "")\(frac) s"
    }
}
