import Foundation
import Testing

@testable import LayoutFSMount

@Suite("mountinfo parsing and mount options")
struct MountTableTests {
    @Test("a fuse.layoutfs line is parsed, with octal escapes in the mount point undone")
    func parsesLayoutFSLine() {
        let text = """
            22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw
            42 27 0:39 / /tmp/with\\040space ro,nosuid,nodev,relatime - fuse.layoutfs layoutfs ro,user_id=0,group_id=0
            """
        let entries = MountTable.parse(text)
        #expect(entries.count == 2)
        #expect(entries[1].mountPoint == "/tmp/with space")
        #expect(entries[1].fileSystemType == "fuse.layoutfs")
        #expect(entries[1].mountOptions.split(separator: ",").contains("ro"))
        #expect(entries[1].source == "layoutfs")
        #expect(entries[0].fileSystemType == "proc")
    }

    @Test("lines without the '-' separator are skipped, not misread")
    func skipsMalformedLines() {
        #expect(MountTable.parse("1 2 3 4 5 6 7 8 9 10").isEmpty)
        #expect(MountTable.parse("garbage").isEmpty)
    }

    @Test(
        "unescape undoes \\NNN only for valid octal escapes",
        arguments: [
            ("/a\\040b", "/a b"), ("/tab\\011x", "/tab\tx"), ("/back\\134slash", "/back\\slash"), ("/plain", "/plain"),
            ("/bad\\9", "/bad\\9"), ("/end\\04", "/end\\04"),
        ])
    func unescape(input: String, expected: String) {
        #expect(MountTable.unescape(input) == expected)
    }

    @Test("the mount is always read-only with subtype layoutfs; allow_other brings default_permissions")
    func fuseOptions() {
        #expect(MountOptions().fuseOptions == ["ro", "subtype=layoutfs", "fsname=layoutfs"])
        let shared = MountOptions(allowOther: true).fuseOptions
        #expect(shared.contains("allow_other") && shared.contains("default_permissions"))
    }

    @Test("canonicalMountpoint makes a path absolute and follows symlinks, the last one included, as mount(2) does")
    func canonical() throws {
        #expect(try MountTable.canonicalMountpoint("/tmp/") == "/tmp")
        #expect(try MountTable.canonicalMountpoint("/tmp/does-not-exist-layoutfs") == "/tmp/does-not-exist-layoutfs")
        let directory = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: URL(fileURLWithPath: "/tmp"), create: true
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let real = (directory as NSString).resolvingSymlinksInPath + "/mnt"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory + "/absolute", withDestinationPath: real)
        try FileManager.default.createSymbolicLink(atPath: directory + "/relative", withDestinationPath: "absolute")
        try FileManager.default.createSymbolicLink(atPath: directory + "/loop", withDestinationPath: "loop")
        #expect(try MountTable.canonicalMountpoint(directory + "/absolute") == real)
        #expect(try MountTable.canonicalMountpoint(directory + "/relative/") == real)
        #expect(throws: MountError.self) { try MountTable.canonicalMountpoint(directory + "/loop") }
    }
}
