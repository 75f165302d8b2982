import ArgumentParser
import KexbootClient
import KexbootUI

struct MenuCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "menu",
        abstract: "The full-screen boot menu (ncurses), a client of the daemon."
    )

    @Option(help: "The daemon's socket.")
    var socket = "/run/kexboot.sock"

    func run() throws {
        let client: Client
        do {
            client = try Client(.unix(socket))
        } catch {
            writeError("kexboot menu: \(error)")
            throw ExitCode(3)
        }
        let terminal: Terminal
        do {
            terminal = try Terminal()
        } catch {
            writeError("kexboot menu: \(error)")
            throw ExitCode(1)
        }
        defer { terminal.end() }
        do {
            try MenuApp(client: client, terminal: terminal, version: KexbootVersion.string).run()
        } catch let failure as Client.Failure {
            terminal.end()
            writeError("kexboot menu: \(failure.message)")
            throw ExitCode(3)
        }
    }
}
