import Foundation
import LayerIndex
import Testing

/// One pass over a layer blob: the members and the diff_id of plain tar and gzip layers written
/// by GNU tar and gzip, fed in pieces; truncated and corrupt gzip refused.
@Suite("layer scan")
struct LayerScanTests {
    /// A directory tree archived by GNU tar (`tar -C DIR -cf - .`), and `sha256sum` of it.
    private static func tarball(_ work: URL) throws -> (tar: [UInt8], diffID: String) {
        let tree = work.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("usr/share/doc"), withIntermediateDirectories: true)
        for i in 0..<50 {
            // Half random, half repeated: deflate blocks of both kinds, and many of them.
            var bytes = (0..<(i * 997)).map { _ in UInt8.random(in: 0...255) }
            bytes += bytes
            try Data(bytes).write(to: tree.appendingPathComponent("usr/share/doc/file\(i)"))
        }
        let tar = try run(["tar", "--sort=name", "-C", tree.path, "-cf", "-", "."])
        let sum = String(decoding: try run(["sha256sum"], input: tar).prefix(64), as: UTF8.self)
        return (tar, "sha256:" + sum)
    }

    private static func run(_ arguments: [String], input: [UInt8]? = nil) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        // Input from a file: writing it to a pipe while the output pipe fills would deadlock.
        let inputFile = FileManager.default.temporaryDirectory.appendingPathComponent("layerscan-input-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: inputFile) }
        if let input {
            try Data(input).write(to: inputFile)
            process.standardInput = try FileHandle(forReadingFrom: inputFile)
        }
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(arguments[0]) failed")
        return Array(data)
    }

    private static func scan(_ blob: [UInt8], gzip: Bool, piece: Int) throws -> (members: [TarMember], diffID: String) {
        var scan = LayerScan(gzip: gzip)
        var start = 0
        while start < blob.count {
            try scan.consume(Array(blob[start..<min(blob.count, start + piece)]))
            start += piece
        }
        let (members, diffID) = try scan.finish()
        return (members, diffID.description)
    }

    private static func withWork(_ body: (URL) throws -> Void) throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("layerscan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try body(work)
    }

    @Test("plain tar and gzip (one member, and two concatenated) give the same members and the tar's sha256 as diff_id, fed whole or 4 KiB at a time")
    func plainAndGzip() throws {
        try Self.withWork { work in
            let (tar, diffID) = try Self.tarball(work)
            let plain = try Self.scan(tar, gzip: false, piece: tar.count)
            #expect(plain.diffID == diffID)
            // The root (`./`, path ""), usr, usr/share, usr/share/doc and 50 files.
            #expect(plain.members.count == 54)
            let file = try #require(plain.members.first { $0.path == "usr/share/doc/file7" })
            #expect(file.size == 2 * 7 * 997)
            let written = try Data(contentsOf: work.appendingPathComponent("tree/usr/share/doc/file7"))
            #expect(Array(tar[Int(file.dataOffset)..<Int(file.dataOffset + file.size)]) == Array(written))
            let gzip = try Self.run(["gzip", "-c"], input: tar)
            let half = tar.count / 2
            let twoMembers = try Self.run(["gzip", "-c"], input: Array(tar[..<half])) + Self.run(["gzip", "-c"], input: Array(tar[half...]))
            for (blob, piece) in [(gzip, gzip.count), (gzip, 4096), (twoMembers, 4096)] {
                let scanned = try Self.scan(blob, gzip: true, piece: piece)
                #expect(scanned.diffID == diffID)
                #expect(scanned.members == plain.members)
            }
        }
    }

    @Test("access points every 64 KiB of compressed bytes let any range of a gzip layer (one member or two) be read from the nearest one, byte for byte")
    func randomAccess() throws {
        try Self.withWork { work in
            let (tar, _) = try Self.tarball(work)
            let half = tar.count / 3
            let oneMember = try Self.run(["gzip", "-c"], input: tar)
            let twoMembers = try Self.run(["gzip", "-c"], input: Array(tar[..<half])) + Self.run(["gzip", "-c"], input: Array(tar[half...]))
            for blob in [oneMember, twoMembers] {
                var scan = LayerScan(gzip: true, span: 64 << 10)
                try scan.consume(blob)
                let points = scan.accessPoints
                // A call of the decompressor stops where the next point is due: one every 64 KiB
                // of input, plus one per member start, however much a call's output holds.
                #expect(points.count >= blob.count / (64 << 10), "\(points.count) points for \(blob.count) compressed bytes")
                for (a, b) in zip(points, points.dropFirst()) where !b.state.isEmpty {
                    #expect(b.compressed - a.compressed <= (64 << 10) + 1, "points \(a.compressed) and \(b.compressed) are more than 64 KiB apart")
                }
                #expect(points.allSatisfy { $0.state.count <= 90 << 10 })
                #expect(points.filter { $0.state.isEmpty }.count == (blob == oneMember ? 1 : 2), "one point per member start")
                let access = GzipRandomAccess(points: points)
                let read = { (offset: Int64, count: Int) throws(LayerIndexError) -> [UInt8] in
                    Array(blob[Int(min(Int64(blob.count), offset))..<min(blob.count, Int(offset) + count)])
                }
                var generator = SystemRandomNumberGenerator()
                for _ in 0..<40 {
                    let offset = Int.random(in: 0..<tar.count, using: &generator)
                    let count = Int.random(in: 1...200_000, using: &generator)
                    let got = try access.read(at: Int64(offset), count: count, compressed: read)
                    #expect(got == Array(tar[offset..<min(tar.count, offset + count)]), "offset \(offset) count \(count)")
                }
                // Every point, and the stream's end.
                for point in points {
                    #expect(
                        try access.read(at: point.uncompressed, count: 100, compressed: read)
                            == Array(tar[Int(point.uncompressed)..<min(tar.count, Int(point.uncompressed) + 100)]))
                }
                #expect(try access.read(at: Int64(tar.count - 10), count: 100, compressed: read) == Array(tar[(tar.count - 10)...]))
            }
        }
    }

    @Test("a truncated gzip layer, a corrupt one (its CRC), and gzip read as plain tar are clear errors")
    func refusals() throws {
        try Self.withWork { work in
            let (tar, _) = try Self.tarball(work)
            let gzip = try Self.run(["gzip", "-c"], input: tar)
            let truncated = #expect(throws: LayerIndexError.self) { _ = try Self.scan(Array(gzip[..<(gzip.count - 100)]), gzip: true, piece: 4096) }
            #expect(truncated?.code == .truncated)
            var corrupt = gzip
            corrupt[corrupt.count - 6] ^= 0xff
            let crc = #expect(throws: LayerIndexError.self) { _ = try Self.scan(corrupt, gzip: true, piece: 4096) }
            #expect(crc?.code == .notTar)
            #expect(crc?.message.contains("not valid gzip") == true)
            let notTar = #expect(throws: LayerIndexError.self) { _ = try Self.scan(gzip, gzip: false, piece: 4096) }
            #expect(notTar?.code == .notTar)
        }
    }
}
