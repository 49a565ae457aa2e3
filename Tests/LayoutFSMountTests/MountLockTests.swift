import Foundation
import Testing

@testable import LayoutFSMount

#if canImport(Glibc)
import Glibc
#endif

@Suite("the machine-wide mount lock")
struct MountLockTests {
    private func temporaryLockPath() throws -> String {
        let directory = NSTemporaryDirectory() + "layoutfs-lock-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/mount.lock"
    }

    @Test("a holder that never lets go makes the next mount fail after the timeout, naming the lock and the holder's pid")
    func stuckHolder() throws {
        let path = try temporaryLockPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        try MountLock.withLock(at: path, timeout: .seconds(1)) { () throws(MountError) in
            // Another open file description of the same file: it conflicts with the one held.
            let error = #expect(throws: MountError.self) {
                try MountLock.withLock(at: path, timeout: .milliseconds(200)) { () throws(MountError) in }
            }
            #expect(error?.message.contains(path) == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("(pid \(getpid()))") == true, "\(error?.message ?? "")")
        }
        // Released: the next one gets it at once.
        var ran = false
        try MountLock.withLock(at: path, timeout: .milliseconds(200)) { () throws(MountError) in ran = true }
        #expect(ran)
    }
}
