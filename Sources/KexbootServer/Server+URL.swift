import KexbootConfig
import KexbootCore
import KexbootOS

extension Server {
    /// `add-url` and `kexboot.url=`: reads a boot config named by a URL and offers its
    /// options as a device of type `network`. Relative files resolve against the URL's
    /// directory. `file://` URLs are read here; fetching over the network (tftp, http,
    /// https, ftp) is the network fetcher's job, and until it exists those are refused as
    /// unsupported.
    func addURL(_ url: String, reply: @escaping (Result<JSONValue, KexbootError>) -> Void) {
        guard url.hasPrefix("file://") else {
            let scheme = url.prefix { $0 != ":" }
            return reply(.failure(KexbootError(.unsupported, "\(url): \(scheme) URLs need the network fetcher, which this build does not have yet; file:// URLs work")))
        }
        let path = String(url.dropFirst("file://".count))
        guard path.hasPrefix("/"), !path.hasSuffix("/") else {
            return reply(.failure(KexbootError(.invalidArgument, "\(url): a file:// URL names an absolute path to a config file")))
        }
        if !urls.contains(url) { urls.append(url) }
        let id = urlIDs[url] ?? {
            nextURL += 1
            urlIDs[url] = "url\(nextURL)"
            return "url\(nextURL)"
        }()
        diskGenerations[url, default: 0] += 1
        let generation = diskGenerations[url]!
        nonisolated(unsafe) let reply = reply
        work.async { [loop] in
            let directory = Path.directory(path)
            let outcome: Result<(ServerDevice, [ServerOption], [Diagnostic]), KexbootError>
            do {
                let files = DirectoryFileSource(root: directory)
                let name = "/" + Path.basename(path)
                guard let info = files.info(name), info.kind == .file else {
                    throw KexbootError(.notFound, "\(path) does not exist")
                }
                let parsed = try ConfigParser().parse(files: files, config: name)
                var device = ServerDevice(id: id, type: "network", disk: url, node: "", size: UInt64(info.size))
                device.directory = directory
                device.config = url
                device.format = parsed.format.rawValue
                let options = parsed.entries.enumerated().map { i, option in
                    ServerOption(id: "\(id)#\(i)", device: id, option: option, isDefault: i == (parsed.defaultIndex ?? 0),
                                 configTimeout: parsed.timeout)
                }
                outcome = .success((device, options, parsed.diagnostics))
            } catch let error as KexbootError {
                outcome = .failure(error)
            } catch {
                outcome = .failure(KexbootError(.parseError, "\(url): \(error)"))
            }
            loop.execute { [self] in
                switch outcome {
                case .success(let (device, options, diagnostics)):
                    guard diskGenerations[url] == generation, urls.contains(url) else { return reply(.failure(KexbootError(.notFound, "\(url) was removed"))) }
                    for d in diagnostics where d.severity != .info { log(d.severity == .error ? .error : .warning, "\(id): \(d)") }
                    broadcast(registry.set(device, options: options))
                    log(.info, "\(id): \(options.count) boot option\(options.count == 1 ? "" : "s") from \(url)")
                    reconsiderAutoboot()
                    reply(.success(.object([("url", .string(url)), ("device", .string(id)), ("options", .int(options.count))])))
                case .failure(let error):
                    // Gone or broken now: what it offered before goes too.
                    urls.removeAll { $0 == url }
                    urlIDs[url] = nil
                    for id in registry.devices(onDisk: url) { broadcast(registry.remove(device: id)) }
                    reconsiderAutoboot()
                    log(.error, "\(url): \(error)")
                    reply(.failure(error))
                }
            }
        }
    }
}
