import ContainerdAPI
import Foundation
import OCISpec
import TestSupport
import Testing

@testable import Containerd

/// Image records containerd accepts but layoutfs cannot read, made through containerd's own
/// images service (ctr cannot make them).
@Suite("containerd images layoutfs cannot read", .serialized)
struct ContainerdOddImageTests {
    /// Creates image `name` in `namespace` pointing at `digest` (any string containerd accepts).
    private static func createImage(_ client: ContainerdClient, name: String, digest: String, size: Int64) async throws {
        let service = Containerd_Services_Images_V1_Images.Client(wrapping: client.grpc)
        var request = Containerd_Services_Images_V1_CreateImageRequest()
        request.image.name = name
        request.image.target.mediaType = MediaType.ociManifest.rawValue
        request.image.target.digest = digest
        request.image.target.size = size
        _ = try await service.create(request, metadata: client.metadata, options: client.unaryOptions)
    }

    @Test(
        "an image whose target is a sha384 digest (containerd accepts it, layoutfs does not) is left out of the names: it made every command on the namespace fail"
    )
    func sha384Target() async throws {
        try await withTaskExecutorPreference(ContainerdClientTests.executor) {
            try await Harness.withWorkDirectoryAsync { work in
                let containerd = try ContainerdServer(directory: work + "/containerd")
                try containerd.importBuilt(work + "/app", name: "docker.io/demo/app:1")
                let client = try ContainerdClient(socket: containerd.socket, namespace: "default", executor: ContainerdClientTests.executor)
                try await Self.createImage(client, name: "docker.io/demo/odd:1", digest: "sha384:" + String(repeating: "a", count: 96), size: 500)

                #expect(try await client.images().map(\.name) == ["docker.io/demo/app:1"])
                let asked = await #expect(throws: ContainerdError.self) { _ = try await client.image(named: "docker.io/demo/odd:1") }
                #expect(asked?.code == .protocolViolation)
                await client.close()
                let store = work + "/store"
                let listing = try Harness.layoutfs(["images", "--containerd=\(containerd.socket)"], store: store).stdout
                #expect(listing.contains("docker.io/demo/app:1") && !listing.contains("odd"), "\(listing)")
                try Harness.layoutfs(["export", "--containerd=\(containerd.socket)", "demo/app:1", "--materialize", work + "/out"], store: store)
            }
        }
    }
}
