import KexbootNet
import Testing

/// DHCPv6 messages on the wire (RFC 8415, RFC 5970), checked against annotated hex.
@Suite struct DHCPv6Tests {
    func hex(_ text: String) -> [UInt8] {
        // Annotations after `|` are comments.
        let digits = text.split(separator: "\n").map { $0.split(separator: "|").first ?? "" }
            .joined().split(separator: " ").joined()
        return stride(from: 0, to: digits.count, by: 2).map {
            let start = digits.index(digits.startIndex, offsetBy: $0)
            return UInt8(digits[start..<digits.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    @Test func aSolicitAsKexbootSendsIt() throws {
        let duid = try #require(DHCPv6Option.duidLL(mac: "52:54:00:12:34:56"))
        let message = DHCPv6Message(.solicit, transactionID: 0xABCDEF, options: [
            DHCPv6Option(.clientID, duid), DHCPv6Option.elapsed(seconds: 1.5), DHCPv6Option.kexbootRequests,
            DHCPv6Option.iaNA(id: 0x1234_5678), DHCPv6Option.vendorClass("PXEClient:Arch:00007:UNDI:003000"),
            DHCPv6Option.architecture(7), DHCPv6Option.networkInterface,
        ])
        #expect(message.bytes == hex("""
            01 abcdef                                   | Solicit, transaction id
            0001 000a 0003 0001 525400123456            | client id: DUID-LL, Ethernet, MAC
            0008 0002 0096                              | elapsed 150 hundredths
            0006 000a 0017 0018 003b 003c 0052          | ORO: 23 24 59 60 82 (SOL_MAX_RT)
            0003 000c 12345678 00000000 00000000        | IA_NA, no address asked for
            0010 0026 00000157 0020 \(Array("PXEClient:Arch:00007:UNDI:003000".utf8).map { String($0, radix: 16) }.joined())
            003d 0002 0007                              | client arch: x86-64 UEFI
            003e 0003 010201                            | NII: UNDI 2.1
            """))
        #expect(DHCPv6Message(bytes: message.bytes) == message)
    }

    @Test func aReplyWithAnAddressAndBootFile() throws {
        let reply = try #require(DHCPv6Message(bytes: hex("""
            07 000102                                   | Reply
            0002 000e 0001 0001 2e2b2c2d 0a0b0c0d0e0f   | server id: DUID-LLT
            0003 0028 00000001 00000e10 00001c20        | IA_NA 1, T1 3600, T2 7200
              0005 0018 fd000077000000000000000000000142 00001c20 00002a30 | fd00:77::142, 7200/10800
            0007 0001 0a                                | preference 10
            0017 0020 fd000077000000000000000000000001 fd000077000000000000000000000002
            0018 0012 076578616d706c65 036f726700 036c616e00 | example.org, lan
            003b 0012 \(Array("tftp://[fd00::1]/x".utf8).map { String($0, radix: 16) }.joined())
            003c 000a 0003 613d31 0003 623d32          | "a=1" "b=2"
            """)))
        #expect(reply.kind == .reply)
        #expect(reply.transactionID == 0x102)
        #expect(reply.serverID == hex("0001 0001 2e2b2c2d 0a0b0c0d0e0f"))
        #expect(reply.preference == 10)
        let ia = try #require(reply.addressAssociations.first)
        #expect(ia.id == 1 && ia.t1 == 3600 && ia.t2 == 7200)
        #expect(ia.usableAddresses.map(\.text) == ["fd00:77::142"])
        #expect(ia.addresses.first?.validLifetime == 10800)
        #expect(reply.dnsServers == ["fd00:77::1", "fd00:77::2"])
        #expect(reply.domainList == ["example.org", "lan"])
        #expect(reply.bootFileURL == "tftp://[fd00::1]/x")
        #expect(reply.bootFileParameters == ["a=1", "b=2"])
        #expect(reply.status == nil)
    }

    @Test func statusCodesAtEveryLevel() throws {
        let reply = try #require(DHCPv6Message(bytes: hex("""
            07 000001
            000d 0009 0000 \(Array("all ok!".utf8).map { String($0, radix: 16) }.joined())
            0003 0012 00000001 00000000 00000000 000d 0002 0002   | IA_NA: NoAddrsAvail
            """)))
        #expect(reply.status == nil || reply.status?.code == 0)
        #expect(reply.status?.message == "all ok!")
        #expect(reply.addressAssociations.first?.status?.code == DHCPv6Status.noAddrsAvail)
        #expect(reply.addressAssociations.first?.usableAddresses.isEmpty == true)
    }

    @Test func addressesWithNoValidLifetimeOrAFailingStatusAreNotUsable() throws {
        let reply = try #require(DHCPv6Message(bytes: hex("""
            07 000001
            0003 0066 00000001 00000000 00000000
              0005 0018 fd000000000000000000000000000001 00000010 00000000 | valid 0
              0005 0018 fd000000000000000000000000000002 00000020 00000010 | preferred > valid
              0005 001e fd000000000000000000000000000003 00000010 00000020 000d 0002 0001 | UnspecFail inside
            """)))
        #expect(reply.addressAssociations.first?.addresses.count == 3)
        #expect(reply.addressAssociations.first?.usableAddresses.isEmpty == true)
    }

    /// Only global unicast (2000::/3) and unique local (fc00::/7) addresses are leases.
    @Test(arguments: [("2001:db8::1", true), ("fd00:77::5", true), ("fc00::1", true), ("3fff::1", true),
                      ("::", false), ("::1", false), ("ff02::1:2", false), ("fe80::1", false), ("febf::1", false),
                      ("::ffff:10.0.0.1", false), ("::10.0.0.1", false), ("4000::1", false)])
    func onlyUnicastAddressesAreUsable(_ text: String, _ usable: Bool) throws {
        let bytes = try #require(DHCPv6.address(text))
        let reply = DHCPv6Message(.reply, transactionID: 1, options: [
            DHCPv6Option(.serverID, [0, 3, 0, 1, 1, 2, 3, 4, 5, 6]),
            DHCPv6Option.iaNA(id: 1, addresses: [DHCPv6IAAddress(address: bytes, preferredLifetime: 3600, validLifetime: 7200)]),
        ])
        #expect(reply.addressAssociations.first?.usableAddresses.count == (usable ? 1 : 0))
        #expect((DHCPv6Client.Lease(reply: reply, iaid: 1) != nil) == usable)
        #expect(DHCPLease(environment: ["interface": "eth0", "family": "inet6", "ipv6": text]).address == (usable ? text : nil))
    }

    /// T1 > T2 (both given) discards the IA_NA (RFC 8415 §21.4); T1 = T2 = 0 is not.
    @Test func contradictoryTimesDiscardTheAddressAssociation() throws {
        let address = try #require(DHCPv6.address("fd00::5"))
        func reply(t1: UInt32, t2: UInt32) -> DHCPv6Message {
            DHCPv6Message(.reply, transactionID: 1, options: [
                DHCPv6Option(.serverID, [0, 3, 0, 1, 1, 2, 3, 4, 5, 6]),
                DHCPv6Option.iaNA(id: 1, t1: t1, t2: t2, addresses: [DHCPv6IAAddress(address: address, preferredLifetime: 0, validLifetime: 3600)]),
            ])
        }
        #expect(DHCPv6Client.Lease(reply: reply(t1: 0x200, t2: 0x100), iaid: 1) == nil)
        let lease = try #require(DHCPv6Client.Lease(reply: reply(t1: 0, t2: 0), iaid: 1))
        // Preferred lifetime 0: the times come from the valid one (3600 s), not 0 and 0.
        #expect(lease.t1 == 1800 && lease.t2 == 2880)
    }

    /// The client's T1 and T2: from the preferred lifetime, else the valid one; a floor
    /// for T1; never past the valid lifetime; infinity (0xffffffff) stays infinity.
    @Test func renewalTimes() {
        let forever = UInt32.max
        typealias L = DHCPv6Client.Lease
        func times(_ t1: UInt32, _ t2: UInt32, _ preferred: UInt32, _ valid: UInt32) -> [UInt32] {
            let (a, b) = L.times(t1: t1, t2: t2, preferred: preferred, valid: valid)
            return [a, b]
        }
        #expect(times(0, 0, 0, 3600) == [1800, 2880])
        #expect(times(0, 0, 0, 4) == [2, 3])
        #expect(times(0, 0, 0, 0) == [0, 0])
        #expect(times(0, 0, 100, 200) == [60, 80])
        #expect(times(0, 0, 1000, 2000) == [500, 800])
        #expect(times(3000, 4000, 1000, 2000) == [2000, 2000])
        #expect(times(100, 0, 0, 50) == [50, 50])
        #expect(times(0, 0, forever, forever) == [forever, forever])
        #expect(times(0, 0, 0, forever) == [forever, forever])
        #expect(times(forever, forever, 3600, 7200) == [7200, 7200])
        #expect(times(forever, forever, forever, forever) == [forever, forever])
        #expect(times(0, 0, forever - 1, forever) == [(forever - 1) / 2, UInt32(Double(forever - 1) * 0.8)])
    }

    /// Option 82 within the RFC's 60 … 86400 s.
    @Test func solicitMaxRT() {
        func message(_ value: UInt32) -> DHCPv6Message {
            DHCPv6Message(.advertise, transactionID: 1, options: [DHCPv6Option(82, [UInt8(value >> 24), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)])])
        }
        #expect(message(3600).solicitMaxRT == 3600)
        #expect(message(60).solicitMaxRT == 60)
        #expect(message(10).solicitMaxRT == nil)
        #expect(message(86_401).solicitMaxRT == nil)
        #expect(DHCPv6Message(.advertise, transactionID: 1).solicitMaxRT == nil)
    }

    /// Option 60's strings reach the script as a JSON array, so blanks inside one survive.
    @Test func bootFileParametersAsTheScriptSeesThem() throws {
        let address = try #require(DHCPv6.address("fd00::5"))
        let parameters = ["a=1", "b c \"d\""].flatMap { [UInt8(0), UInt8($0.utf8.count)] + Array($0.utf8) }
        let reply = DHCPv6Message(.reply, transactionID: 1, options: [
            DHCPv6Option(.serverID, [0, 3, 0, 1, 1, 2, 3, 4, 5, 6]),
            DHCPv6Option.iaNA(id: 1, addresses: [DHCPv6IAAddress(address: address, preferredLifetime: 3600, validLifetime: 7200)]),
            DHCPv6Option(.bootFileParameters, parameters),
            DHCPv6Option(.dnsServers, try #require(DHCPv6.address("fe80::1")) + (try #require(DHCPv6.address("fd00::1")))),
        ])
        let lease = try #require(DHCPv6Client.Lease(reply: reply, iaid: 1))
        let variables = lease.variables(interface: "eth0")
        #expect(variables["bootfile_param"] == #"["a=1","b c \"d\""]"#)
        let back = DHCPLease(environment: variables)
        #expect(back.bootFileParameters == ["a=1", "b c \"d\""])
        // A link-local DNS server carries its interface.
        #expect(back.dns == ["fe80::1%eth0", "fd00::1"])
    }

    @Test func aRenewCarriesTheServerAndTheAddress() throws {
        let address = try #require(DHCPv6.address("fd00:77::142"))
        let renew = DHCPv6Message(.renew, transactionID: 0x1FFFFFF, options: [
            DHCPv6Option(.serverID, [0, 3, 0, 1, 1, 2, 3, 4, 5, 6]),
            DHCPv6Option.iaNA(id: 9, addresses: [DHCPv6IAAddress(address: address)]),
        ])
        #expect(renew.transactionID == 0xFFFFFF)
        #expect(renew.bytes == hex("""
            05 ffffff
            0002 000a 00030001 010203040506
            0003 0028 00000009 00000000 00000000 0005 0018 fd000077000000000000000000000142 00000000 00000000
            """))
    }

    @Test(arguments: [
        "",                       // empty
        "07",                     // no transaction id
        "07 0000",                // short transaction id
        "00 000000",              // message type 0
        "ff 000000",              // unknown type
        "07 000000 0001",         // option header cut
        "07 000000 0001 0005 01", // option data cut
        "07 000000 0003 0004 00000001", // IA_NA shorter than 12: message fine, IA dropped
    ])
    func truncatedAndGarbagePackets(_ text: String) {
        let message = DHCPv6Message(bytes: hex(text))
        if let message {
            #expect(message.addressAssociations.isEmpty)
        }
    }

    @Test func malformedInnerOptionsAreDropped() throws {
        let reply = try #require(DHCPv6Message(bytes: hex("""
            07 000001
            0003 0010 00000001 00000000 00000000 0005 0010    | IA Address header says 16, no data
            0017 0005 0102030405                              | DNS not a multiple of 16
            0018 0004 09616263                                | label runs past the end
            003c 0003 0005 61                                 | string runs past the end
            003b 0003 610a62                                  | newline in the URL
            """)))
        #expect(reply.addressAssociations.isEmpty)
        #expect(reply.dnsServers.isEmpty)
        #expect(reply.domainList.isEmpty)
        #expect(reply.bootFileParameters.isEmpty)
        #expect(reply.bootFileURL == nil)
    }

    /// Random bytes, random cuts and flips of a good message: never a trap.
    @Test func fuzzing() throws {
        var generator = SystemRandomNumberGenerator()
        let good = DHCPv6Message(.reply, transactionID: 7, options: [
            DHCPv6Option(.serverID, [0, 3, 0, 1, 1, 2, 3, 4, 5, 6]),
            DHCPv6Option.iaNA(id: 1, t1: 10, t2: 20, addresses: [DHCPv6IAAddress(address: DHCPv6.address("fd00::5")!, preferredLifetime: 30, validLifetime: 60)]),
            DHCPv6Option(.domainList, [3, 0x61, 0x62, 0x63, 0]), DHCPv6Option(.bootFileParameters, [0, 1, 0x61]),
            DHCPv6Option(.dnsServers, DHCPv6.address("fd00::1")!),
        ]).bytes
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<80, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if !bytes.isEmpty { bytes[0] = UInt8.random(in: 1...13, using: &generator) }
            } else {
                bytes = Array(good.prefix(Int.random(in: 0...good.count, using: &generator)))
                for _ in 0..<Int.random(in: 0..<4, using: &generator) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            if let m = DHCPv6Message(bytes: bytes) {
                _ = (m.addressAssociations.map(\.usableAddresses), m.dnsServers, m.domainList, m.bootFileURL,
                     m.bootFileParameters, m.status, m.preference, m.serverID)
            }
        }
        #expect(DHCPv6Message(bytes: good) != nil)
    }

    @Test func elapsedTimeIsCapped() {
        #expect(DHCPv6Option.elapsed(seconds: 0).data == [0, 0])
        #expect(DHCPv6Option.elapsed(seconds: 2).data == [0, 200])
        #expect(DHCPv6Option.elapsed(seconds: 1000).data == [0xFF, 0xFF])
    }

    @Test func duidFromAMac() {
        #expect(DHCPv6Option.duidLL(mac: "aa:bb:cc:dd:ee:ff") == [0, 3, 0, 1, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF])
        #expect(DHCPv6Option.duidLL(mac: "") == nil)
        #expect(DHCPv6Option.duidLL(mac: "zz:00") == nil)
    }
}
