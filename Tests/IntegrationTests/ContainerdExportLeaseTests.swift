import Foundation
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The lease of an export from containerd while the export outlasts its expiry.
@Suite("containerd export lease", .serialized)
struct ContainerdExportLeaseTests {
    @Test(
        "an export that outlasts its lease's expiry (a slow registry for what containerd lacks) renews the lease, which keeps the blobs through ctr images rm and garbage collection: it kept its first lease, which lapsed"
    )
    func exportRenewsItsLease() throws {
        try Harness.withWorkDirectory { work in
            let containerd = try ContainerdServer(directory: work + "/containerd")
            let registry = try RegistryServer(directory: work + "/registry")
            let proxy = try FaultProxy(upstream: registry, directory: work + "/proxy")
            let layout = try ImageBuilder(path: work + "/multi")
            let amd64 = try layout.addImage(platform: Platform(os: "linux", architecture: "amd64"))
            // 30 bytes at one every 0.2 s: the arm64 layer takes 6 s, twice the lease's expiry.
            let arm64 = try layout.addImage(platform: Platform(os: "linux", architecture: "arm64"), layers: [ImageBuilder.randomBytes(30)])
            let index = try layout.addIndex([amd64.manifest, arm64.manifest])
            try registry.pushRaw(layout: layout.path, manifest: index, children: [amd64.manifest, arm64.manifest], tag: "1", to: "demo/multi")
            let name = "\(proxy.address)/demo/multi:1"
            try containerd.ctr(["images", "pull", "--plain-http", "--platform", "linux/amd64", name])
            try proxy.setFaults([.init(match: arm64.layers[0].digest.encoded, fault: "trickle")])

            let export = try Harness.spawn(
                [Harness.binary, "export", "--containerd", containerd.socket, name, "--materialize", work + "/out"],
                environment: ["LAYOUTFS_ROOT": work + "/store", "LAYOUTFS_CONTAINERD_LEASE_SECONDS": "3"])
            try LazyMountTests.waitUntil("the export's lease is renewed") {
                try containerd.ctr(["leases", "ls", "-q"]).stdout.contains("layoutfs-export-\(export.pid)-2")
            }
            try containerd.ctr(["images", "rm", "--sync", name])
            try containerd.ctr(["leases", "create", "--id", "gc-trigger"])
            try containerd.ctr(["leases", "delete", "--sync", "gc-trigger"])
            #expect(Harness.wait(export.pid) == 0, "\(export.readError())")
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            for blob in [index, amd64.manifest, amd64.config, arm64.manifest, arm64.config] + amd64.layers + arm64.layers {
                #expect(try Harness.sha256(ofFile: "\(work)/out/blobs/sha256/\(blob.digest.encoded)") == blob.digest.encoded)
            }
            #expect(!(try containerd.ctr(["leases", "ls"]).stdout.contains("layoutfs-export")))
        }
    }
}
