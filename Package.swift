// swift-tools-version:6.0
import PackageDescription
import Foundation

// libcurl: the small static one scripts/build-curl.sh makes (file, ftp, http(s), tftp and
// OpenSSL only) when it is there, else the system's. A cross build (scripts/build-ppc64le.sh
// sets KEXBOOT_CROSS) links the one built into the Swift SDK's sysroot.
let staticCurl = Context.packageDirectory + "/.build/curl/lib/libcurl.a"
let curlLinking: [LinkerSetting] = Context.environment["KEXBOOT_CROSS"] != nil
    ? [.linkedLibrary("curl"), .linkedLibrary("ssl"), .linkedLibrary("crypto"), .linkedLibrary("pthread")]
    : FileManager.default.fileExists(atPath: staticCurl)
    ? [.unsafeFlags([staticCurl]), .linkedLibrary("ssl"), .linkedLibrary("crypto"), .linkedLibrary("pthread")]
    : [.linkedLibrary("curl")]

// Layers (a module imports only modules below it):
//   0  CKexboot (ioctl wrappers), CBlkid (libblkid), CCurl (libcurl)
//   1  KexbootCore (value types, seams), KexbootConfig (config languages)
//   1  KexbootProtocol (socket messages and framing, no sockets)
//   1  KexbootArguments (command-line declarations and parsing, standard library only)
//   2  KexbootOS (syscalls, sockets), KexbootDevices (uevents and sysfs, blkid, probing),
//      KexbootNet (libcurl fetcher, DHCP leases, PXE lookup)
//   3  KexbootServer (the daemon), KexbootClient (the protocol's client side)
//   4  KexbootUI (the ncurses menu over pure view-models; a client, never the server)
//   5  kexboot (the multicall executable)
let package = Package(
    name: "kexboot",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kexboot", targets: ["kexboot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "CKexboot", linkerSettings: [.linkedLibrary("crypt"), .linkedLibrary("z")]),
        .systemLibrary(name: "CBlkid", pkgConfig: "blkid", providers: [.apt(["libblkid-dev"])]),
        .target(name: "KexbootCore"),
        .target(name: "KexbootArguments"),
        .target(name: "KexbootConfig", dependencies: ["KexbootCore"]),
        .target(name: "KexbootOS", dependencies: ["KexbootCore", "CKexboot"]),
        .target(name: "KexbootDevices", dependencies: ["KexbootCore", "KexbootConfig", "KexbootOS", "CBlkid"]),
        .target(name: "KexbootProtocol", dependencies: ["KexbootCore"]),
        .target(name: "CCurl", linkerSettings: curlLinking),
        .target(name: "KexbootNet", dependencies: ["CCurl", "KexbootCore", "KexbootOS"]),
        .target(name: "KexbootServer", dependencies: ["CKexboot", "KexbootCore", "KexbootConfig", "KexbootOS", "KexbootDevices", "KexbootNet", "KexbootProtocol"]),
        .target(name: "KexbootClient", dependencies: ["KexbootCore", "KexbootOS", "KexbootProtocol"]),
        .target(name: "CCurses", cSettings: [.define("_DEFAULT_SOURCE")], linkerSettings: [.linkedLibrary("ncursesw"), .linkedLibrary("tinfo")]),
        .target(name: "KexbootUI", dependencies: ["CCurses", "KexbootCore", "KexbootClient", "KexbootOS"]),
        .executableTarget(
            name: "kexboot",
            dependencies: [
                "KexbootCore", "KexbootConfig", "KexbootOS", "KexbootDevices", "KexbootNet", "KexbootProtocol", "KexbootServer", "KexbootClient", "KexbootUI",
                "KexbootArguments",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "KexbootCoreTests", dependencies: ["KexbootCore"]),
        .testTarget(name: "KexbootArgumentsTests", dependencies: ["KexbootArguments"]),
        .testTarget(name: "KexbootConfigTests", dependencies: ["KexbootConfig", "KexbootOS"], exclude: ["Fixtures"]),
        .testTarget(name: "KexbootOSTests", dependencies: ["KexbootOS", "KexbootTestSupport"]),
        .target(name: "KexbootTestSupport", path: "Tests/Support", exclude: ["httpd.py", "impair.py", "tftp-endless.py"]),
        .testTarget(name: "KexbootDevicesTests", dependencies: ["KexbootDevices", "KexbootOS", "KexbootTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "KexbootNetTests", dependencies: ["KexbootNet", "KexbootCore", "KexbootOS", "KexbootTestSupport"]),
        .testTarget(name: "KexbootProtocolTests", dependencies: ["KexbootProtocol", "KexbootCore"]),
        .testTarget(name: "KexbootServerTests", dependencies: ["KexbootServer", "KexbootClient", "KexbootProtocol", "KexbootOS", "KexbootTestSupport"]),
        .testTarget(name: "KexbootUITests", dependencies: ["KexbootUI", "KexbootCore"]),
        .testTarget(name: "kexbootTests", dependencies: ["kexboot", "KexbootTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer harnesses (scripts/fuzz.sh): built only with KEXBOOT_FUZZ_BUILD set, into
// their own scratch path with -sanitize=fuzzer,address, so the ordinary build and tests
// never compile them.
if Context.environment["KEXBOOT_FUZZ_BUILD"] != nil {
    package.targets.append(.target(name: "CFuzz", path: "Tests/Fuzz/CFuzz"))
    package.targets.append(.executableTarget(
        name: "kexboot-fuzz",
        dependencies: ["CFuzz", "KexbootCore", "KexbootConfig", "KexbootOS", "KexbootDevices", "KexbootNet", "KexbootProtocol", "KexbootServer"],
        path: "Tests/Fuzz/Harness"))
    package.products.append(.executable(name: "kexboot-fuzz", targets: ["kexboot-fuzz"]))
}
