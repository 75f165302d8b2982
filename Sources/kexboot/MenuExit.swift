/// How `kexboot menu` and `kexboot console` tell /init what ended them. Only `shell` makes
/// /init start a shell (initramfs/menu-loop.sh); any other status, or a crash, brings the
/// menu back. So the shell needs the user's deliberate choice, never an accident: a
/// status no other path of the program uses.
enum MenuExit {
    /// The user left the menu for a shell: `x` (menu) or `q` (console), with `shell` not
    /// false in the daemon's settings and, where the settings set a password, the password
    /// given.
    static let shell: Int32 = 10

    static let discussion = """
        Exit status: 10 when the user left the menu for a shell and the daemon's settings
        allowed it (shell not false, and the password given where one is set); 1 when the
        terminal cannot be driven (menu); 3 when the daemon cannot be reached or goes away;
        0 when the input ended. The initramfs starts a shell only on 10.
        """
}
