import Foundation
import LayerIndex
import OCISpec
import Testing

/// The persisted form of a layer's index: read back equal, damaged or foreign files refused.
@Suite("layer index file")
struct LayerIndexRecordTests {
    private static func record() throws -> LayerIndexRecord {
        // A gzip stream made here (three members of random and repeated bytes, as a layer's
        // might be), scanned with small access point spacing.
        let members = [
            TarMember(path: "usr", kind: .directory, mode: 0o755, modificationTime: 1_700_000_000, modificationNanoseconds: 5),
            TarMember(
                path: "usr/bin/ping", kind: .file, mode: 0o4755, uid: 1, gid: 2, size: 1234, dataOffset: 1536,
                extendedAttributes: ["security.capability": [1, 0, 0, 2, 0, 32, 0, 0], "user.note": Array("é".utf8)]),
            TarMember(path: "usr/bin/pong", kind: .hardlink, linkTarget: "usr/bin/ping"),
            TarMember(path: "dev/null", kind: .characterDevice, mode: 0o666, deviceMajor: 1, deviceMinor: 3),
            TarMember(path: "lib", kind: .symlink, mode: 0o777, linkTarget: "usr/lib"),
        ]
        let points = [
            GzipAccessPoint(uncompressed: 0, compressed: 0, state: []),
            GzipAccessPoint(uncompressed: 1 << 20, compressed: 300_000, state: (0..<50_000).map { UInt8(truncatingIfNeeded: $0 * 7) }),
        ]
        return LayerIndexRecord(
            layer: DigestHasher.digest(of: [1]), diffID: DigestHasher.digest(of: [2]), format: .gzip, compressedSize: 600_000,
            uncompressedSize: 2 << 20, members: members, accessPoints: points)
    }

    @Test("an index file reads back equal to what was written")
    func roundTrip() throws {
        let record = try Self.record()
        let file = try record.encoded()
        #expect(try LayerIndexRecord(decoding: file) == record)
    }

    @Test("a damaged, truncated, foreign or empty file is refused with a reason, never read")
    func damaged() throws {
        let file = try Self.record().encoded()
        var flipped = file
        flipped[file.count / 2] ^= 1
        for (bad, reason) in [
            (flipped, "damaged"), (Array(file[..<(file.count - 1)]), "damaged"), ([UInt8](), "not a layer index"),
            (Array("LFSLAYIX".utf8) + [UInt8](repeating: 0, count: 100), "damaged"),
        ] {
            let error = #expect(throws: LayerIndexError.self) { _ = try LayerIndexRecord(decoding: bad) }
            #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
        }
    }
}
