#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootConfig
import KexbootCore
import KexbootNet
import KexbootOS

/// What an added URL was read with.
struct URLSource {
    var prefix: String?
    var env: [(String, String)]
    var id: String?
    var interface: (name: String, mac: String?, address: String?)?
}

extension Server {
    /// Reads an added URL again as it was first read (rescan, periodic refresh). With
    /// `keepOnFailure`, a read that fails leaves what the URL offered as it was (a server
    /// briefly down does not empty the menu).
    func readURLAgain(_ url: String, keepOnFailure: Bool = false, done: (() -> Void)? = nil) {
        let source = urlSources[url]
        addURL(url, prefix: source?.prefix, env: source?.env ?? [], id: source?.id, interface: source?.interface,
               keepOnFailure: keepOnFailure) { _ in done?() }
    }

    /// The fetcher as the config says: the time and size limits, proxies, CA file (added
    /// to the system bundle), hosts explicitly marked insecure.
    var fetcher: Fetcher {
        var s = FetchSettings()
        s.totalTimeout = config.fetchTimeout
        s.maxSize = config.fetchMaxSize
        s.proxy = config.httpProxy
        s.httpsProxy = config.httpsProxy
        s.noProxy = (config.noProxy ?? "").split(separator: ",").map { String($0).trimmingBlanks() }.filter { !$0.isEmpty }
        s.insecureHosts = config.insecureHosts
        if let ca = config.caFile {
            // Built once per ca-file setting (not on every fetch).
            if caBundle?.source != ca {
                do {
                    caBundle = (ca, try CABundle.combine(extra: ca, output: settings.runDirectory + "/ca-bundle.crt"))
                } catch {
                    caBundle = (ca, nil)
                    log(.error, "ca-file: \(error); HTTPS trusts the system's CAs only")
                }
            }
            s.caFile = caBundle?.path
        }
        return Fetcher(settings: s)
    }

    /// `add-url` and `kexboot.url=`: reads a boot config named by a URL and offers its
    /// options as a device of type `network`. Relative files resolve against `prefix`
    /// (DHCP option 210, or the boot file's directory) when given, else against the URL's
    /// own directory; `/`-rooted names against the server root (pxelinux: under the prefix
    /// too, see `SyslinuxConfig`). `file://` configs are
    /// read in place; the rest are fetched (tftp, http, https, ftp).
    func addURL(_ url: String, prefix: String? = nil, env: [(String, String)] = [], id wanted: String? = nil,
                interface: (name: String, mac: String?, address: String?)? = nil, keepOnFailure: Bool = false,
                reply: @escaping (Result<JSONValue, KexbootError>) -> Void) {
        guard Fetcher.isURL(url), let parts = URLParts(url) else {
            return reply(.failure(KexbootError(.invalidArgument, "\(url): not a URL kexboot fetches (tftp, http, https, ftp, file)")))
        }
        let origin = URLText.origin(of: url)
        let local = parts.scheme == "file"
        guard parts.path.hasPrefix("/"), !parts.path.hasSuffix("/") else {
            return reply(.failure(KexbootError(.invalidArgument, "\(url): the URL names a directory, not a config file")))
        }
        if !urls.contains(url) { urls.append(url) }
        urlSources[url] = URLSource(prefix: prefix, env: env, id: wanted, interface: interface)
        let id = urlIDs[url] ?? wanted ?? {
            nextURL += 1
            return "url\(nextURL)"
        }()
        urlIDs[url] = id
        diskGenerations[url, default: 0] += 1
        let generation = diskGenerations[url]!
        let fetcher = self.fetcher
        nonisolated(unsafe) let reply = reply
        (local ? work : netWork).async { [loop] in
            let outcome: Result<(ServerDevice, [ServerOption], [Diagnostic]), KexbootError>
            do {
                let files: any FileSource
                let name: String
                var base: String? = prefix
                if local {
                    let directory = Path.directory(parts.path)
                    files = DirectoryFileSource(root: directory)
                    name = "/" + Path.basename(parts.path)
                } else {
                    files = URLFileSource(origin: origin, fetcher: fetcher)
                    name = parts.path
                    base = base ?? URLText.resolve("./", against: url)
                }
                guard let info = files.info(name), info.kind == .file else {
                    // Say why: the fetcher's reason (404, refused, certificate) is the useful part.
                    if !local { _ = try files.read(name) }
                    throw KexbootError(.notFound, "\(url) does not exist")
                }
                var parser = ConfigParser(env: env)
                parser.prefix = base
                let parsed = try parser.parse(files: files, config: name)
                var device = ServerDevice(id: id, type: "network", disk: url, node: interface?.name ?? "", size: UInt64(info.size))
                if local { device.directory = Path.directory(parts.path) }
                device.config = url
                device.format = parsed.format.rawValue
                device.proxy = parsed.proxy
                device.interface = interface?.name
                device.mac = interface?.mac
                device.address = interface?.address
                var diagnostics = parsed.diagnostics
                var options: [ServerOption] = []
                for (i, entry) in parsed.entries.enumerated() {
                    let option = local ? entry : entry.onServer(origin)
                    // A config from a server may not name files on this machine.
                    if !local, option.namesLocalFiles {
                        diagnostics.append(Diagnostic(.warning, "'\(option.title)' left out: a network config may not name file:// files"))
                        continue
                    }
                    options.append(ServerOption(id: "\(id)#\(i)", device: id, option: option,
                                                isDefault: i == (parsed.defaultIndex ?? 0), configTimeout: parsed.timeout))
                }
                outcome = .success((device, options, diagnostics))
            } catch let error as KexbootError {
                outcome = .failure(error)
            } catch {
                outcome = .failure(KexbootError(.parseError, "\(url): \(error)"))
            }
            loop.execute { [self] in
                switch outcome {
                case .success(let (found, options, diagnostics)):
                    guard diskGenerations[url] == generation, urls.contains(url) else { return reply(.failure(KexbootError(.notFound, "\(url) was removed"))) }
                    var device = found
                    // The link's current leases: IPv4's address, and IPv6's beside it.
                    if let link = interface.flatMap({ links[$0.name] }) {
                        device.address = link.lease?.address ?? link.lease6?.address ?? device.address
                        device.address6 = link.lease6?.address
                    }
                    for d in diagnostics where d.severity != .info { log(d.severity == .error ? .error : .warning, "\(id): \(d)") }
                    broadcast(registry.set(device, options: options))
                    log(.info, "\(id): \(options.count) boot option\(options.count == 1 ? "" : "s") from \(url)")
                    reconsiderAutoboot()
                    reply(.success(.object([("url", .string(url)), ("device", .string(id)), ("options", .int(options.count))])))
                case .failure(let error):
                    // A newer read of the same URL decides.
                    guard diskGenerations[url] == generation else { return reply(.failure(error)) }
                    if keepOnFailure, urls.contains(url) {
                        log(.warning, "\(url): \(error); keeping what it offered before")
                        return reply(.failure(error))
                    }
                    // Gone or broken now: what it offered before goes too.
                    urls.removeAll { $0 == url }
                    urlIDs[url] = nil
                    urlSources[url] = nil
                    for id in registry.devices(onDisk: url) { broadcast(registry.remove(device: id)) }
                    reconsiderAutoboot()
                    log(.error, "\(url): \(error)")
                    reply(.failure(error))
                }
            }
        }
    }
}

extension BootOption {
    var namesLocalFiles: Bool {
        let all = [kernel, devicetree].compactMap { $0 } + initrds + modules.map(\.resource)
        return all.contains { if case .url(let u) = $0 { u.lowercased().hasPrefix("file:") } else { false } }
    }

    /// A config fetched from `origin`: files it names by path (GRUB, BLS, native configs
    /// read over the network) are files on that server.
    func onServer(_ origin: String) -> BootOption {
        func map(_ r: Resource) -> Resource {
            if case .file(nil, let path) = r { return .url(origin + path) }
            return r
        }
        var o = self
        o.kernel = kernel.map(map)
        o.initrds = initrds.map(map)
        o.devicetree = devicetree.map(map)
        o.modules = modules.map { BootModule(resource: map($0.resource), args: $0.args) }
        o.checksums = Dictionary(checksums.map { ($0.key.hasPrefix("/") ? origin + $0.key : $0.key, $0.value) }, uniquingKeysWith: { $1 })
        return o
    }
}
