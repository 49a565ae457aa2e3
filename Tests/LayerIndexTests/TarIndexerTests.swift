import Foundation
import LayerIndex
import Testing

/// The member table of tar streams written by real writers (Python's tarfile in GNU and PAX
/// formats, GNU tar), fed whole and in small pieces, and of streams that are not tar, are
/// truncated or name unsafe paths.
@Suite("tar member index")
struct TarIndexerTests {
    /// Runs a Python script that writes a tar archive to the path in argv[1]; its bytes.
    private static func archive(_ script: String) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tarindex-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("layer.tar").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import io, sys, tarfile\n" + script, output]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 failed")
        return Array(try Data(contentsOf: URL(fileURLWithPath: output)))
    }

    private static func index(_ bytes: [UInt8], pieces: Int? = nil) throws -> [TarMember] {
        var indexer = TarIndexer()
        if let pieces {
            var start = 0
            while start < bytes.count {
                try indexer.consume(bytes[start..<min(bytes.count, start + pieces)])
                start += pieces
            }
        } else {
            try indexer.consume(bytes)
        }
        return try indexer.finish()
    }

    /// The members a GNU-format and a PAX-format archive of the same tree share.
    static let tree = """
        def add(t, name, kind=tarfile.REGTYPE, data=b"", **kw):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = len(data)
            info.mtime = 1700000000
            for k, v in kw.items(): setattr(info, k, v)
            t.addfile(info, io.BytesIO(data) if data else None)
        def fill(t):
            add(t, "./", tarfile.DIRTYPE, mode=0o755)
            add(t, "./etc/", tarfile.DIRTYPE, mode=0o755)
            add(t, "./etc/hosts", data=b"127.0.0.1 localhost\\n", mode=0o644, uid=1000, gid=1001)
            add(t, "./usr/bin/su", data=b"#!/bin/sh\\n", mode=0o4755)
            add(t, "./tmp/", tarfile.DIRTYPE, mode=0o1777)
            add(t, "./" + "d" * 120 + "/" + "long" * 40, data=b"deep\\n")
            add(t, "./etc/localtime", tarfile.SYMTYPE, linkname="/usr/share/zoneinfo/" + "Z" * 150)
            add(t, "./usr/bin/su-again", tarfile.LNKTYPE, linkname="./usr/bin/su")
            add(t, "./run/fifo", tarfile.FIFOTYPE, mode=0o600)
            add(t, "./dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)
            add(t, "./etc/.wh.motd", data=b"")
        """

    @Test(
        "GNU and PAX archives of one tree give the same members, whole or fed 1, 7 and 512 bytes at a time; data offsets point at the bytes",
        arguments: ["GNU_FORMAT", "PAX_FORMAT"])
    func formats(_ format: String) throws {
        let bytes = try Self.archive(Self.tree + "\nwith tarfile.open(sys.argv[1], 'w', format=tarfile.\(format)) as t: fill(t)\n")
        let members = try Self.index(bytes)
        #expect(
            members.map(\.path) == [
                "", "etc", "etc/hosts", "usr/bin/su", "tmp", String(repeating: "d", count: 120) + "/" + String(repeating: "long", count: 40),
                "etc/localtime", "usr/bin/su-again", "run/fifo", "dev/null", "etc/.wh.motd",
            ])
        for pieces in [1, 7, 512] { #expect(try Self.index(bytes, pieces: pieces) == members) }
        let hosts = try #require(members.first { $0.path == "etc/hosts" })
        #expect(hosts.kind == .file && hosts.mode == 0o644 && hosts.uid == 1000 && hosts.gid == 1001 && hosts.modificationTime == 1_700_000_000)
        #expect(Array(bytes[Int(hosts.dataOffset)..<Int(hosts.dataOffset + hosts.size)]) == Array("127.0.0.1 localhost\n".utf8))
        let deep = try #require(members.first { $0.path.hasSuffix("longlong") })
        #expect(Array(bytes[Int(deep.dataOffset)..<Int(deep.dataOffset + deep.size)]) == Array("deep\n".utf8))
        #expect(members.first { $0.path == "usr/bin/su" }?.mode == 0o4755)
        #expect(members.first { $0.path == "tmp" }.map { $0.kind == .directory && $0.mode == 0o1777 } == true)
        #expect(members.first { $0.path == "etc/localtime" }?.linkTarget == "/usr/share/zoneinfo/" + String(repeating: "Z", count: 150))
        #expect(members.first { $0.path == "usr/bin/su-again" }.map { $0.kind == .hardlink && $0.linkTarget == "usr/bin/su" && $0.size == 0 } == true)
        #expect(members.first { $0.path == "run/fifo" }?.kind == .fifo)
        #expect(members.first { $0.path == "dev/null" }.map { $0.kind == .characterDevice && $0.deviceMajor == 1 && $0.deviceMinor == 3 } == true)
    }

    @Test("PAX records: a fractional mtime, a uid beyond octal's reach, extended attributes, and a global header's defaults")
    func paxRecords() throws {
        let bytes = try Self.archive(
            """
            with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT, pax_headers={"gid": "4242"}) as t:
                info = tarfile.TarInfo("bin/ping")
                info.size = 4
                info.mtime = 1700000000.25
                info.uid = 3000000000
                info.pax_headers = {"SCHILY.xattr.security.capability": "\\x01\\x00\\x00\\x02", "SCHILY.xattr.user.note": "hi"}
                t.addfile(info, io.BytesIO(b"ping"))
                t.addfile(tarfile.TarInfo("plain"))
            """)
        let members = try Self.index(bytes)
        let ping = try #require(members.first)
        // The global header's gid applies to every member that does not give its own.
        #expect(members.map(\.gid) == [4242, 4242])
        #expect(ping.path == "bin/ping" && ping.uid == 3_000_000_000)
        #expect(ping.modificationTime == 1_700_000_000 && ping.modificationNanoseconds == 250_000_000)
        #expect(ping.extendedAttributes["user.note"] == Array("hi".utf8))
        #expect(ping.extendedAttributes["security.capability"] == [0x01, 0x00, 0x00, 0x02])
        #expect(Array(bytes[Int(ping.dataOffset)..<Int(ping.dataOffset + 4)]) == Array("ping".utf8))
    }

    @Test("a GNU base-256 number (a uid beyond octal) is read")
    func baseTwoFiftySix() throws {
        let bytes = try Self.archive(
            """
            with tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT) as t:
                info = tarfile.TarInfo("big")
                info.uid = 2 ** 40
                t.addfile(info)
            """)
        #expect(try Self.index(bytes).first?.uid == UInt32(truncatingIfNeeded: 1 << 40))
        #expect(try Self.index(bytes).count == 1)
    }

    @Test("a stream without end blocks that stops at a member's boundary is whole; one that stops inside a member is truncated")
    func endings() throws {
        let bytes = try Self.archive(Self.tree + "\nwith tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t: fill(t)\n")
        let members = try Self.index(bytes)
        let last = try #require(members.last)
        // The last member is empty: the stream up to its header's end is whole.
        let cut = Int(last.dataOffset)
        var indexer = TarIndexer()
        try indexer.consume(bytes[0..<cut])
        #expect(try indexer.finish() == members)
        let hosts = try #require(members.first { $0.path == "etc/hosts" })
        var truncated = TarIndexer()
        try truncated.consume(bytes[0..<Int(hosts.dataOffset + 3)])
        let error = #expect(throws: LayerIndexError.self) { try truncated.finish() }
        #expect(error?.code == .truncated)
    }

    @Test("not a tar (gzip bytes, a wrong checksum), absolute and climbing paths, a hard link out of the root, and sparse files are clear errors")
    func refusals() throws {
        let gzip: [UInt8] = [0x1f, 0x8b, 0x08, 0x00] + [UInt8](repeating: 0x41, count: 1020)
        var indexer = TarIndexer()
        let notTar = #expect(throws: LayerIndexError.self) { try indexer.consume(gzip) }
        #expect(notTar?.code == .notTar)
        #expect(notTar?.message.contains("not a tar archive") == true)
        // A real archive with one header byte changed: its checksum no longer matches.
        var damaged = try Self.archive("with tarfile.open(sys.argv[1], 'w') as t: t.addfile(tarfile.TarInfo('x'))\n")
        damaged[0] ^= 0x01
        let checksum = #expect(throws: LayerIndexError.self) { _ = try Self.index(damaged) }
        #expect(checksum?.code == .notTar)
        for (name, link) in [("/etc/passwd", ""), ("../escape", ""), ("a/../../escape", ""), ("ok", "../../etc/shadow")] {
            let kind = link.isEmpty ? "REGTYPE" : "LNKTYPE"
            let bytes = try Self.archive(
                """
                with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
                    info = tarfile.TarInfo(\"\(name)\")
                    info.type = tarfile.\(kind)
                    info.linkname = \"\(link)\"
                    t.addfile(info)
                """)
            let unsafe = #expect(throws: LayerIndexError.self) { _ = try Self.index(bytes) }
            #expect(unsafe?.code == .unsafePath, "\(name) \(link)")
        }
        #expect(try TarPath.normalized("a/./b/../c/") == "a/c")
        #expect(try TarPath.normalized("./") == nil)
        let sparse = try Self.archive(
            """
            with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
                info = tarfile.TarInfo("holes")
                info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}
                t.addfile(info)
            """)
        let unsupported = #expect(throws: LayerIndexError.self) { _ = try Self.index(sparse) }
        #expect(unsupported?.code == .unsupported)
    }
}
