import Foundation
import OCISpec
import TestSupport
import Testing

/// A mount's containerd lease deleted under it (`ctr leases rm`).
@Suite("containerd lease removed under a mount", .serialized)
struct ContainerdLeaseRemovedTests {
    @Test(
        "after ctr leases rm of a mount's lease, a name moved under the mount gets a new lease at once that holds its blobs through ctr images rm and garbage collection (nothing held them until the next renewal, 100 s later)"
    )
    func leaseRemovedThenRetag() throws {
        try Harness.requireFUSE()
        try Harness.withWorkDirectory { work in
            let containerd = try ContainerdServer(directory: work + "/containerd")
            _ = try containerd.importBuilt(work + "/app", name: "docker.io/demo/app:1")
            let store = work + "/store"
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            let mounted = try Harness.layoutfs(["mount", "--containerd", containerd.socket, "demo/app:1", mnt], store: store)
            defer { _ = try? Harness.run([Harness.binary, "unmount", mnt, "--lazy"]) }
            let pid = try #require(mounted.stdout.split(separator: "(pid ").last?.split(separator: ",").first.map(String.init))
            let first = "layoutfs-mount-\(pid)-1"
            #expect(try containerd.ctr(["leases", "ls", "-q"]).stdout.contains(first))
            try containerd.ctr(["leases", "rm", first])

            let next = try containerd.importBuilt(work + "/next", name: "docker.io/demo/next:2")
            try containerd.ctr(["images", "tag", "--force", "docker.io/demo/next:2", "docker.io/demo/app:1"])
            try LazyMountTests.waitUntil("index.json shows the moved name") {
                (try? String(contentsOfFile: mnt + "/index.json", encoding: .utf8))?.contains(next.manifest.digest.description) == true
            }
            try LazyMountTests.waitUntil("a new lease holds the mount's blobs") {
                try containerd.ctr(["leases", "ls", "-q"]).stdout.contains("layoutfs-mount-\(pid)-2")
            }
            try containerd.ctr(["images", "rm", "--sync", "docker.io/demo/next:2", "docker.io/demo/app:1"])
            try containerd.ctr(["leases", "create", "--id", "gc-trigger"])
            try containerd.ctr(["leases", "delete", "--sync", "gc-trigger"])
            for blob in next.blobs {
                #expect(try Harness.sha256(ofFile: "\(mnt)/blobs/sha256/\(blob.digest.encoded)") == blob.digest.encoded)
            }
        }
    }
}
