import Foundation
import KexbootCore
import KexbootTestSupport
import Testing

/// ISO images kept as files on a USB stick's filesystem: the daemon finds them, reads the
/// config inside each (no mount, no isofs), and boots files from inside them, both for
/// images it found itself and for GRUB `loopback` entries of the stick's own grub.cfg.
@Suite(.serialized) struct ISOImageTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("KexbootConfigTests/Fixtures").path

    func options(_ list: JSONValue, device: String) -> [JSONValue] {
        (list["options"]?.arrayValue ?? []).filter { $0["device"]?.stringValue == device }
    }

    @Test func isosOnAFilesystemBecomeDevicesAndBoot() throws {
        let dir = try Shell.temporaryDirectory("iso-daemon")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let stick = dir + "/stick"
        // A Fedora live ISO built from the fixture tree, with a kernel big enough to span
        // many blocks.
        try Shell.run("""
            mkdir -p \(stick)/isos \(stick)/boot/grub
            cp -r \(Self.fixtures)/fedora39-live-iso/root \(dir)/fedora
            head -c 200000 /dev/urandom > \(dir)/fedora/images/pxeboot/vmlinuz
            head -c 70000 /dev/urandom > \(dir)/fedora/images/pxeboot/initrd.img
            xorriso -as mkisofs -R -J -V Fedora-WS-Live-39-1-5 -o \(stick)/isos/Fedora-Workstation-Live-x86_64-39-1.5.iso \(dir)/fedora 2>&1
            mkdir -p \(dir)/debian/boot/grub \(dir)/debian/live
            printf 'menuentry "Debian GNU/Linux Live" {\\n  linux /live/vmlinuz boot=live components quiet findiso=${iso_path}\\n  initrd /live/initrd.img\\n}\\n' > \(dir)/debian/boot/grub/loopback.cfg
            printf 'menuentry "Not from a file" {\\n  linux /live/vmlinuz boot=live components\\n}\\n' > \(dir)/debian/boot/grub/grub.cfg
            echo debian-kernel > \(dir)/debian/live/vmlinuz && echo debian-initrd > \(dir)/debian/live/initrd.img
            xorriso -as mkisofs -R -V d-live -o \(stick)/isos/debian-live.iso \(dir)/debian 2>&1
            mkdir -p \(dir)/ubuntu/casper
            head -c 50000 /dev/urandom > \(dir)/ubuntu/casper/vmlinuz && echo ubuntu-initrd > \(dir)/ubuntu/casper/initrd
            xorriso -as mkisofs -R -V Ubuntu -o \(stick)/ubuntu.iso \(dir)/ubuntu 2>&1
            mkdir -p \(dir)/tools/boot \(dir)/tools/tools
            head -c 123457 /dev/urandom > \(dir)/tools/tools/vmlinuz
            sum=$(sha256sum < \(dir)/tools/tools/vmlinuz | cut -c1-64)
            printf 'entry good\n  kernel /tools/vmlinuz\n  sha256 /tools/vmlinuz %s\nentry bad\n  kernel /tools/vmlinuz\n  sha256 /tools/vmlinuz %s\n' $sum $(echo $sum | tr 0-9a-f 1-9a-f0) > \(dir)/tools/boot/kexboot.conf
            xorriso -as mkisofs -R -V tools -o \(stick)/isos/tools.iso \(dir)/tools 2>&1
            echo 'not an image' > \(stick)/isos/notes.iso
            printf 'set timeout=5\\nmenuentry "Ubuntu (ISO)" {\\n  loopback loop /ubuntu.iso\\n  linux (loop)/casper/vmlinuz boot=casper iso-scan/filename=/ubuntu.iso\\n  initrd (loop)/casper/initrd\\n}\\n' > \(stick)/boot/grub/grub.cfg
            printf 'menuentry "Nested" {\\n  loopback loop /ubuntu.iso\\n  set root=(loop)\\n  loopback loop /inner.iso\\n  linux (loop)/vmlinuz\\n}\\nmenuentry "FIFO" {\\n  loopback loop /fifo.iso\\n  linux (loop)/vmlinuz\\n}\\n' >> \(stick)/boot/grub/grub.cfg
            mkfifo \(stick)/fifo.iso
            """)
        let disk = try DiskImage.gptExt4(in: dir, name: "stick", label: "STICK", tree: stick, megabytes: 24)
        let before = try DiskImage.sha256(disk)
        let daemon = try Daemon(dir: dir, images: [disk], autoboot: false)
        let list = try daemon.waitForList { ($0["options"]?.arrayValue?.count ?? 0) >= 9 }
        let devices = list["devices"]?.arrayValue ?? []
        let fedoraID = "stick.img:1:/isos/Fedora-Workstation-Live-x86_64-39-1.5.iso"
        let fedora = try #require(devices.first { $0["id"]?.stringValue == fedoraID })
        #expect(fedora["fstype"] == .string("iso9660"))
        #expect(fedora["label"] == .string("Fedora-WS-Live-39-1-5"))
        #expect(fedora["iso"] == .string("/isos/Fedora-Workstation-Live-x86_64-39-1.5.iso"))
        #expect(fedora["format"] == .string("grub"))
        #expect(fedora["config"] == .string("/boot/grub2/grub.cfg"))
        // Not an image: no device.
        #expect(!devices.contains { $0["id"]?.stringValue?.hasSuffix("notes.iso") == true })

        let fedoraOptions = options(list, device: fedoraID)
        #expect(fedoraOptions.map { $0["title"]?.stringValue ?? "" } == [
            "Start Fedora-Workstation-Live 39", "Test this media & start Fedora-Workstation-Live 39",
            "Start Fedora-Workstation-Live 39 in basic graphics mode"])
        #expect(fedoraOptions.map { $0["default"] } == [.bool(false), .bool(true), .bool(false)])
        // dracut finds its live image in a file through iso-scan/filename=.
        #expect(fedoraOptions[1]["args"] == .string(
            "root=live:CDLABEL=Fedora-WS-Live-39-1-5 rd.live.image rd.live.check quiet iso-scan/filename=/isos/Fedora-Workstation-Live-x86_64-39-1.5.iso"))

        // An ISO that ships loopback.cfg is read through it, with iso_path set.
        let debian = options(list, device: "stick.img:1:/isos/debian-live.iso")
        #expect(debian.map { $0["title"]?.stringValue ?? "" } == ["Debian GNU/Linux Live"])
        #expect(debian.first?["args"] == .string("boot=live components quiet findiso=/isos/debian-live.iso"))

        // Booting from inside the ISO: the files come out byte for byte.
        let booted = try daemon.client().call("boot", [("option", fedoraOptions[1]["id"]!)])
        #expect(booted["plan"]?["kernel"]?["size"]?.intValue == 200000)
        #expect(booted["plan"]?["initrds"]?.arrayValue?.first?["size"]?.intValue == 70000)
        #expect(booted["plan"]?["cmdline"]?.stringValue?.hasSuffix("iso-scan/filename=/isos/Fedora-Workstation-Live-x86_64-39-1.5.iso") == true)
        // Byte for byte: the native config inside tools.iso pins its kernel's SHA-256.
        let tools = options(list, device: "stick.img:1:/isos/tools.iso")
        #expect(tools.count == 2)
        let good = try daemon.client().call("boot", [("option", tools[0]["id"]!)])
        #expect(good["plan"]?["kernel"]?["size"]?.intValue == 123457)
        #expect(throws: (any Error).self) { try daemon.client().call("boot", [("option", tools[1]["id"]!)]) }

        // The stick's own grub.cfg: a loopback entry reads from /ubuntu.iso.
        let ubuntu = try #require(options(list, device: "stick.img:1").first { $0["title"] == .string("Ubuntu (ISO)") })
        let viaLoopback = try daemon.client().call("boot", [("option", ubuntu["id"]!)])
        #expect(viaLoopback["plan"]?["kernel"]?["size"]?.intValue == 50000)
        #expect(viaLoopback["plan"]?["initrds"]?.arrayValue?.first?["size"]?.intValue == 14)
        // A loopback image named through a loopback device, and a FIFO where the image
        // should be: clear refusals, and the daemon carries on.
        let stickOptions = options(list, device: "stick.img:1")
        for (title, reason) in [("Nested", "an image inside a loopback image"), ("FIFO", "is missing")] {
            let option = try #require(stickOptions.first { $0["title"] == .string(title) })
            #expect { try daemon.client().call("boot", [("option", option["id"]!)]) } throws: { "\($0)".contains(reason) }
        }
        #expect(try daemon.client().call("list")["options"]?.arrayValue?.count == list["options"]?.arrayValue?.count)
        daemon.stop()
        #expect(try DiskImage.sha256(disk) == before)
        #expect(try !Shell.run("losetup -a").contains(disk))
        #expect(try !Shell.run("cat /proc/mounts").contains(dir))
    }
}
