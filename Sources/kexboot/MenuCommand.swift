import KexbootArguments
import KexbootClient
import KexbootUI

/// The exit status tells /init whether the user left for a shell (`MenuExit`).
struct MenuCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "menu",
        abstract: "The full-screen boot menu (ncurses), a client of the daemon.",
        discussion: MenuExit.discussion
    )

    @Option(help: "The daemon's socket.")
    var socket = "/run/kexboot.sock"

    @Option(help: "Seconds to wait for the daemon to start listening.")
    var wait: Double = 10

    func run() throws {
        // The screen first: at boot the menu is up while the daemon is still starting.
        let terminal: Terminal
        do {
            terminal = try Terminal()
        } catch {
            writeError("kexboot menu: \(error)")
            throw ExitCode(1)
        }
        MenuApp.drawStarting(terminal, version: KexbootVersion.string)
        let client: Client
        do {
            client = try Client.connect(.unix(socket), waiting: wait)
        } catch {
            terminal.end()
            writeError("kexboot menu: \(error)")
            throw ExitCode(3)
        }
        defer { terminal.end() }
        let ending: MenuApp.Ending
        do {
            ending = try MenuApp(client: client, terminal: terminal, version: KexbootVersion.string).run()
        } catch let failure as Client.Failure {
            terminal.end()
            writeError("kexboot menu: \(failure.message)")
            throw ExitCode(3)
        }
        if ending == .shell { throw ExitCode(MenuExit.shell) }
    }
}
