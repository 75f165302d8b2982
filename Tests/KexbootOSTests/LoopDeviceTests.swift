import Testing
@testable import KexbootOS

/// The numbers a partition table gives a loop device's partition, before they become
/// BLKPG's signed byte offsets.
@Suite struct LoopDeviceTests {
    @Test func partitionRangesInBytes() {
        #expect(LoopDevice.byteRange(startSector: 2048, sectors: 4096)! == (1 << 20, 2 << 20))
        #expect(LoopDevice.byteRange(startSector: 0, sectors: 0)! == (0, 0))
        // The largest that fit: start + length is at most Int64.max.
        let last = UInt64(Int64.max) / 512
        #expect(LoopDevice.byteRange(startSector: last, sectors: 0) != nil)
        // Values a table on the disk may hold: `* 512` overflows, or Int64 cannot hold them.
        for (start, sectors) in [(UInt64.max, UInt64(1)), (1, .max), (1 << 55, 1), (last + 1, 0), (last, 1), (last / 2 + 1, last / 2 + 1)] {
            #expect(LoopDevice.byteRange(startSector: start, sectors: sectors) == nil, "\(start) + \(sectors)")
        }
    }
}
