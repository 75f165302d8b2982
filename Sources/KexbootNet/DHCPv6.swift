#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootOS

/// A DHCPv6 message (RFC 8415 §8): message type, 24-bit transaction id, options.
///
/// Decoding never traps: a truncated or malformed packet is `nil` (a server's garbage is
/// not an error of ours, only a packet to drop). Options kexboot does not know are kept
/// as bytes.
public struct DHCPv6Message: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case solicit = 1, advertise, request, confirm, renew, rebind, reply, release, decline, reconfigure, informationRequest
    }

    public var kind: Kind
    public var transactionID: UInt32
    public var options: [DHCPv6Option]

    public init(_ kind: Kind, transactionID: UInt32, options: [DHCPv6Option] = []) {
        self.kind = kind
        self.transactionID = transactionID & 0xFF_FFFF
        self.options = options
    }

    /// `nil` for anything that is not a whole, well-formed message.
    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count >= 4, let kind = Kind(rawValue: b[0]), let options = DHCPv6Option.list(b[4...]) else { return nil }
        self.kind = kind
        transactionID = UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
        self.options = options
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = [kind.rawValue, UInt8(transactionID >> 16 & 0xFF), UInt8(transactionID >> 8 & 0xFF), UInt8(transactionID & 0xFF)]
        for option in options { out += option.bytes }
        return out
    }

    public func option(_ code: DHCPv6Option.Code) -> DHCPv6Option? { options.first { $0.code == code.rawValue } }

    // MARK: What a server's message says

    public var clientID: [UInt8]? { option(.clientID)?.data }
    public var serverID: [UInt8]? { option(.serverID)?.data }
    /// Option 7; a message without one has preference 0.
    public var preference: UInt8 { option(.preference)?.data.first ?? 0 }
    public var rapidCommit: Bool { option(.rapidCommit) != nil }
    /// The message's own status (option 13 at the top level); no option means success.
    public var status: DHCPv6Status? { option(.statusCode).flatMap { DHCPv6Status(data: $0.data) } }
    /// Every IA_NA in the message (malformed ones left out).
    public var addressAssociations: [DHCPv6IANA] { options.filter { $0.code == DHCPv6Option.Code.iaNA.rawValue }.compactMap { DHCPv6IANA(data: $0.data) } }
    /// Option 23, as text.
    public var dnsServers: [String] {
        guard let data = option(.dnsServers)?.data, data.count % 16 == 0 else { return [] }
        return stride(from: 0, to: data.count, by: 16).compactMap { DHCPv6.addressText(Array(data[$0..<$0 + 16])) }
    }
    /// Option 24: the domain search list.
    public var domainList: [String] { option(.domainList).flatMap { DHCPv6.domainNames($0.data) } ?? [] }
    /// Option 59 (RFC 5970): the boot file, as a URL.
    public var bootFileURL: String? {
        guard let data = option(.bootFileURL)?.data, !data.isEmpty else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        return text.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value < 0x7F }) ? text : nil
    }
    /// Option 60 (RFC 5970): the boot file's parameters, each a length-prefixed string.
    public var bootFileParameters: [String] { option(.bootFileParameters).flatMap { DHCPv6.stringList($0.data) } ?? [] }
    /// Option 82 (RFC 8415 §21.24): the server's SOL_MAX_RT, in seconds; `nil` when absent
    /// or outside the RFC's 60…86400.
    public var solicitMaxRT: UInt32? {
        guard let data = option(.solMaxRT)?.data, data.count == 4 else { return nil }
        let value = DHCPv6.readBE32(data, 0)
        return (60...86_400).contains(value) ? value : nil
    }
}

/// One option: code and data.
public struct DHCPv6Option: Sendable, Equatable {
    public enum Code: UInt16, Sendable {
        case clientID = 1, serverID = 2, iaNA = 3, iaAddress = 5, optionRequest = 6, preference = 7, elapsedTime = 8
        case statusCode = 13, rapidCommit = 14, vendorClass = 16, dnsServers = 23, domainList = 24
        case bootFileURL = 59, bootFileParameters = 60, clientArchitecture = 61, networkInterfaceID = 62, solMaxRT = 82
    }

    public var code: UInt16
    public var data: [UInt8]

    public init(_ code: UInt16, _ data: [UInt8]) {
        self.code = code
        self.data = data
    }

    public init(_ code: Code, _ data: [UInt8] = []) { self.init(code.rawValue, data) }

    public var bytes: [UInt8] { DHCPv6.be16(code) + DHCPv6.be16(UInt16(clamping: data.count)) + data.prefix(0xFFFF) }

    /// The options in `bytes`, or `nil` when one runs past the end.
    static func list(_ bytes: ArraySlice<UInt8>) -> [DHCPv6Option]? {
        var options: [DHCPv6Option] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            guard bytes.endIndex - i >= 4 else { return nil }
            let code = UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            i += 4
            guard bytes.endIndex - i >= length else { return nil }
            options.append(DHCPv6Option(code, Array(bytes[i..<i + length])))
            i += length
        }
        return options
    }

    // MARK: What kexboot sends

    /// DUID-LL (type 3, hardware type 1 = Ethernet) from a MAC address `aa:bb:…`.
    public static func duidLL(mac: String) -> [UInt8]? {
        let parts = mac.split(separator: ":")
        let bytes = parts.compactMap { UInt8($0, radix: 16) }
        guard !parts.isEmpty, bytes.count == parts.count else { return nil }
        return [0, 3, 0, 1] + bytes
    }

    /// Option 6: the options asked for.
    public static func optionRequest(_ codes: [Code]) -> DHCPv6Option {
        DHCPv6Option(.optionRequest, codes.flatMap { DHCPv6.be16($0.rawValue) })
    }

    /// What kexboot asks for: DNS servers, domain list, boot file URL and parameters, and
    /// SOL_MAX_RT (which RFC 8415 §18.2.1 says a Solicit must ask for).
    public static let kexbootRequests = optionRequest([.dnsServers, .domainList, .bootFileURL, .bootFileParameters, .solMaxRT])

    /// Option 8, in hundredths of a second (0xFFFF from 655.35 s on).
    public static func elapsed(seconds: Double) -> DHCPv6Option {
        let hundredths = seconds <= 0 ? 0 : seconds >= 655.35 ? 0xFFFF : UInt16(seconds * 100)
        return DHCPv6Option(.elapsedTime, DHCPv6.be16(hundredths))
    }

    /// Option 16: an enterprise number and one class string (PXE uses Intel's, 343).
    public static func vendorClass(_ text: String, enterprise: UInt32 = 343) -> DHCPv6Option {
        let data = Array(text.utf8.prefix(0xFF00))
        return DHCPv6Option(.vendorClass, DHCPv6.be32(enterprise) + DHCPv6.be16(UInt16(data.count)) + data)
    }

    /// Option 61 (RFC 5970): the client's architecture, the same code as DHCPv4 option 93.
    public static func architecture(_ code: UInt16) -> DHCPv6Option { DHCPv6Option(.clientArchitecture, DHCPv6.be16(code)) }

    /// Option 62 (RFC 5970): network interface type 1 (UNDI), revision 2.1 — what the
    /// DHCPv4 option 94 kexboot sends says.
    public static let networkInterface = DHCPv6Option(.networkInterfaceID, [1, 2, 1])

    /// Option 3: an IA_NA, with the address asked for (renew, rebind, release) if any.
    public static func iaNA(id: UInt32, t1: UInt32 = 0, t2: UInt32 = 0, addresses: [DHCPv6IAAddress] = []) -> DHCPv6Option {
        var data = DHCPv6.be32(id) + DHCPv6.be32(t1) + DHCPv6.be32(t2)
        for a in addresses {
            data += DHCPv6Option(.iaAddress, a.address + DHCPv6.be32(a.preferredLifetime) + DHCPv6.be32(a.validLifetime)).bytes
        }
        return DHCPv6Option(.iaNA, data)
    }
}

/// Option 13: a status code and its message.
public struct DHCPv6Status: Sendable, Equatable {
    public static let success: UInt16 = 0, unspecFail: UInt16 = 1, noAddrsAvail: UInt16 = 2, noBinding: UInt16 = 3
    public static let notOnLink: UInt16 = 4, useMulticast: UInt16 = 5

    public var code: UInt16
    public var message: String

    init?(data: [UInt8]) {
        guard data.count >= 2 else { return nil }
        code = UInt16(data[0]) << 8 | UInt16(data[1])
        message = String(decoding: data[2...], as: UTF8.self)
    }
}

/// An IA Address (option 5): the address and its lifetimes, in seconds.
public struct DHCPv6IAAddress: Sendable, Equatable {
    /// 16 bytes.
    public var address: [UInt8]
    public var preferredLifetime: UInt32
    public var validLifetime: UInt32
    /// A status inside the address option, if the server put one there.
    public var status: DHCPv6Status?

    public init(address: [UInt8], preferredLifetime: UInt32 = 0, validLifetime: UInt32 = 0) {
        self.address = address
        self.preferredLifetime = preferredLifetime
        self.validLifetime = validLifetime
    }

    init?(data: [UInt8]) {
        guard data.count >= 24, let inner = DHCPv6Option.list(data[24...]) else { return nil }
        address = Array(data[0..<16])
        preferredLifetime = DHCPv6.readBE32(data, 16)
        validLifetime = DHCPv6.readBE32(data, 20)
        status = inner.first { $0.code == DHCPv6Option.Code.statusCode.rawValue }.flatMap { DHCPv6Status(data: $0.data) }
    }

    public var text: String { DHCPv6.addressText(address) ?? "" }
}

/// An IA_NA (option 3) as a server returns it: T1, T2, addresses and status.
public struct DHCPv6IANA: Sendable, Equatable {
    public var id: UInt32
    public var t1: UInt32
    public var t2: UInt32
    public var addresses: [DHCPv6IAAddress]
    public var status: DHCPv6Status?

    init?(data: [UInt8]) {
        guard data.count >= 12, let inner = DHCPv6Option.list(data[12...]) else { return nil }
        id = DHCPv6.readBE32(data, 0)
        t1 = DHCPv6.readBE32(data, 4)
        t2 = DHCPv6.readBE32(data, 8)
        addresses = inner.filter { $0.code == DHCPv6Option.Code.iaAddress.rawValue }.compactMap { DHCPv6IAAddress(data: $0.data) }
        status = inner.first { $0.code == DHCPv6Option.Code.statusCode.rawValue }.flatMap { DHCPv6Status(data: $0.data) }
    }

    /// The addresses a client may use: no failing status of their own and a valid
    /// lifetime, the preferred no longer than the valid (RFC 8415 §21.6), and an address
    /// an interface can carry as its own (`DHCPv6.isAssignable`).
    public var usableAddresses: [DHCPv6IAAddress] {
        addresses.filter { a in
            (a.status?.code ?? DHCPv6Status.success) == DHCPv6Status.success && a.validLifetime > 0
                && a.preferredLifetime <= a.validLifetime && DHCPv6.isAssignable(a.address)
        }
    }

    /// T1 and T2 that contradict each other (T1 > T2, both non-zero): RFC 8415 §21.4 says
    /// the IA_NA is discarded.
    public var inconsistentTimes: Bool { t1 != 0 && t2 != 0 && t1 > t2 }
}

/// Helpers for the wire format.
public enum DHCPv6 {
    public static let clientPort: UInt16 = 546
    public static let serverPort: UInt16 = 547
    /// All_DHCP_Relay_Agents_and_Servers.
    public static let serversAddress = "ff02::1:2"

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func readBE32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    /// An address a server may lease: global unicast (2000::/3) or unique local (fc00::/7).
    /// Not ::, ::1, multicast, link-local, v4-mapped or anything else reserved.
    public static func isAssignable(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 16 else { return false }
        return bytes[0] & 0xE0 == 0x20 || bytes[0] & 0xFE == 0xFC
    }

    /// 16 bytes as RFC 5952 text (`fd00:77::1`).
    public static func addressText(_ bytes: [UInt8]) -> String? {
        guard bytes.count == 16 else { return nil }
        var buffer = [CChar](repeating: 0, count: 64)
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(AF_INET6, raw.baseAddress, &buffer, 64) } != nil
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// The 16 bytes of an IPv6 address in text, or `nil`.
    public static func address(_ text: String) -> [UInt8]? { Netlink.ipv6(text) }

    /// Names in DNS wire format, uncompressed (RFC 1035 §3.1, as option 24 carries them).
    /// `nil` when a label runs past the end or a name does not end in the root label.
    static func domainNames(_ data: [UInt8]) -> [String]? {
        var names: [String] = []
        var labels: [String] = []
        var i = 0
        while i < data.count {
            let length = Int(data[i])
            i += 1
            if length == 0 {
                if !labels.isEmpty { names.append(labels.joined(separator: ".")) }
                labels = []
                continue
            }
            guard length < 64, data.count - i >= length else { return nil }
            let label = String(decoding: data[i..<i + length], as: UTF8.self)
            // A name goes into resolv.conf: nothing that could break a line or a word.
            guard label.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else { return nil }
            labels.append(label)
            i += length
        }
        return labels.isEmpty ? names : nil
    }

    /// Strings each preceded by a 16-bit length (option 60).
    static func stringList(_ data: [UInt8]) -> [String]? {
        var strings: [String] = []
        var i = 0
        while i < data.count {
            guard data.count - i >= 2 else { return nil }
            let length = Int(data[i]) << 8 | Int(data[i + 1])
            i += 2
            guard data.count - i >= length else { return nil }
            strings.append(String(decoding: data[i..<i + length], as: UTF8.self))
            i += length
        }
        return strings
    }

    /// Hex, as the `serverid` variable shows a DUID.
    public static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).leftPadded(2) }.joined()
    }
}
