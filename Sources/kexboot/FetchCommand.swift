import KexbootArguments
import KexbootCore
import KexbootNet
import KexbootOS

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `kexboot fetch URL -o FILE`: the daemon's fetcher on its own (scripts, benchmarks, and
/// checking a server from the initramfs shell).
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a URL (tftp, http, https, ftp, file) with kexboot's fetcher."
    )

    @Argument(help: "The URL.")
    var url: String

    @Option(name: .shortAndLong, help: "Where to write it.")
    var output: String

    @Option(help: "A CA certificate to trust besides the system's.")
    var caFile: String?

    @Option(help: "A host whose certificate is not checked (repeatable).")
    var insecureHost: [String] = []

    @Option(help: "TFTP block size to ask for.")
    var tftpBlksize = 1468

    @Option(help: "Further attempts after a transient failure.")
    var retries = 2

    @Option(help: "A proxy for http, https and ftp.")
    var proxy: String?

    @Option(help: ArgumentHelp("Seconds the whole fetch may take, retries included (1 to 86400).", valueName: "seconds"))
    var timeout = FetchSettings.defaultTimeout

    @Option(help: ArgumentHelp("The largest file accepted: bytes, or with K, M, G (powers of 1024).", valueName: "size"))
    var maxSize = ByteCount(FetchSettings.defaultMaxSize)

    @Flag(help: "Print the size, effective URL and transfer time.")
    var verbose = false

    func validate() throws {
        guard (1...86_400).contains(timeout) else { throw ValidationError("--timeout takes a whole number of seconds from 1 to 86400") }
    }

    func run() throws {
        var settings = FetchSettings()
        settings.totalTimeout = timeout
        settings.maxSize = maxSize.bytes
        settings.tftpBlockSize = tftpBlksize
        settings.retries = retries
        settings.insecureHosts = insecureHost
        settings.proxy = proxy
        do {
            var scratch: String?
            defer {
                if let scratch {
                    unlink(scratch + "/ca.crt")
                    rmdir(scratch)
                }
            }
            if let caFile {
                // A private directory for the combined bundle (no guessable name in /tmp).
                var template = Array("/tmp/kexboot-fetch-XXXXXX".utf8CString)
                guard let dir = mkdtemp(&template) else { throw KexbootError(.ioError, "mkdtemp", cause: Errno(errno)) }
                scratch = String(cString: dir)
                settings.caFile = try CABundle.combine(extra: caFile, output: scratch! + "/ca.crt")
            }
            // The library's one-time setup is not the transfer (curl's time_total leaves it out too).
            Fetcher.prepare()
            let started = monotonicSeconds()
            let fetched = try Fetcher(settings: settings).fetch(url, to: output)
            let seconds = monotonicSeconds() - started
            if verbose {
                let rounded = Double(Int(seconds * 1_000_000)) / 1_000_000
                print("\(fetched.bytes) bytes from \(URLText.redactingCredentials(fetched.effectiveURL)) in \(fetched.attempts) attempt(s), \(rounded) s")
            }
        } catch {
            writeError("kexboot fetch: \(URLText.redactingCredentials("\(error)"))")
            throw ExitCode(1)
        }
    }
}

extension ByteCount: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
