/// The GRUB commands kexboot carries out. Everything else is either in `ignored`
/// (display, modules, terminals: accepted, no effect on what boots), in
/// `unbootableLoaders` (makes an entry unbootable by kexec), or unknown (a warning).
enum GrubBuiltin: String, CaseIterable {
    case set, unset, export
    case test, bracket = "["
    case `true`, `false`
    case search
    case searchUUID = "search.fs_uuid", searchLabel = "search.fs_label", searchFile = "search.file"
    case source, dot = "."
    case configfile
    case loadEnv = "load_env", saveEnv = "save_env"
    case blscfg
    case linux, linux16, linuxefi
    case initrd, initrd16, initrdefi
    case devicetree
    case multiboot, multiboot2, module, module2
    case regexp
    case menuentry, hiddenentry, submenu
    case `break`, `continue`, `return`, shift, setparams
    case eval, exit
    case loopback, probe

    static let table: [String: GrubBuiltin] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

    static let ignored: Set<String> = [
        "insmod", "rmmod", "lsmod", "loadfont", "lsfonts", "font",
        "terminal_input", "terminal_output", "terminal", "serial", "terminfo",
        "gfxmode", "gfxpayload", "background_image", "background_color", "videoinfo", "videotest",
        "echo", "sleep", "play", "clear", "read", "gettext", "help", "ls", "cat", "list_env",
        "usb", "nativedisk", "cutmem", "badram", "cryptomount", "tpm2_key_protector_init",
        "net_bootp", "net_dhcp", "net_ipv6_autoconf", "net_add_addr", "net_add_route",
        "net_add_dns", "net_set_vlan", "smbios", "boot", "set_background", "vbeinfo",
        "btrfs-mount-subvol", "btrfs-list-subvols", "btrfs-list-snapshots", "btrfs-info",
        "verify_detached", "trust", "distrust", "hashsum", "sha256sum", "sha512sum", "md5sum",
        "keymap", "lspci", "lsacpi", "date", "fwconfig", "cmosclean", "pager",
    ]

    /// Loaders for things kexec cannot start: an entry that uses one is left out.
    static let unbootableLoaders: Set<String> = [
        "chainloader", "fwsetup", "halt", "reboot", "poweroff", "kfreebsd", "knetbsd",
        "kopenbsd", "appleloader", "xnu_kernel", "xnu_kernel64", "ntldr", "freedos",
        "legacy_kernel", "plan9", "truecrypt", "drivemap", "uefi-firmware",
    ]
}
