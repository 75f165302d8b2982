import KexbootCore

/// The bounds every config language keeps, whatever the input: a config on a disk or from
/// the network is untrusted, and one parse must stay small and quick (issue 18, "hostile
/// input never takes kexboot down"). Each bound is far above what a real config needs.
/// Past one, the parser reports it once, at the line that reached it, and keeps what it has
/// read so far.
///
/// Limits that only one language has (GRUB's nesting and recursion depths, iPXE's steps per
/// path) stay with its parser.
public enum ConfigLimits {
    /// Entries one config may define: GRUB menu entries and submenus, syslinux `LABEL`s,
    /// yaboot images, kboot and kexboot.conf entries, BLS snippets, iPXE boots. The largest
    /// real menus (an ISO with every kernel flavour, a PXE server's menu of a mirror) have
    /// a few hundred.
    public static let maxEntries = 10_000

    /// Bytes of the entries kept, all told (ids, titles, paths, file names, command lines):
    /// what one config may cost in memory. 10,000 ordinary entries take about 3 MiB.
    public static let maxEntryBytes = 64 << 20

    /// The longest value a variable or setting may hold, or a line of a line-based format
    /// (syslinux, yaboot, kboot, kexboot.conf). A kernel command line is at most a few KiB.
    public static let maxValueLength = 1 << 20

    /// The longest command once its variables are expanded (all its words together): GRUB
    /// commands and `for` lists, iPXE commands.
    public static let maxCommandLength = 4 << 20

    /// Files one parse may read besides its config, counting every time one is read:
    /// syslinux `INCLUDE`/`MENU INCLUDE`/`CONFIG`, GRUB `source`/`configfile`/`load_env`,
    /// scripts iPXE chains (BLS snippets are entries). The depth limits alone allow 3¹⁶
    /// reads of a file that includes itself three times.
    public static let maxIncludedFiles = 1_000

    /// Bytes of config text one parse may read and go over, all told: the config, each
    /// included file each time it is included; for GRUB also `eval` text, every block each
    /// time its body is parsed (a submenu's entries are parsed again with it), and what
    /// error recovery makes the parser go over again (for GRUB it is a budget for each of
    /// its two phases, as `maxSteps` is). The largest config kexboot reads is 64 MiB.
    public static let maxInputBytes = 256 << 20

    /// Bytes variable expansion may produce in one parse (GRUB variables, iPXE settings).
    /// With `maxValueLength` alone, ten thousand short lines that each expand a 1 MiB value
    /// would make 10 GiB.
    public static let maxExpansionBytes = 256 << 20

    /// Steps one GRUB parse may take while running the config, and again while running its
    /// entries: commands, loop iterations and function calls, and copies of the variables
    /// (an entry or submenu copies its context's; 16 variables are a step). A 50 MB
    /// generated grub.cfg takes about 1.5 million. (iPXE runs each path through a script
    /// separately and has its own, smaller budget, `IPXEInterpreter.maxSteps`.)
    public static let maxSteps = 4_000_000

    /// A byte count as the diagnostics give it.
    static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
