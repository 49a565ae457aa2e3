import Foundation
import OCISpec
import Registry
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The client's single-range blob GETs against the real registry, through the fault proxy:
/// a 206 with the right Content-Range, a legal 200 (Range ignored), and a lying Content-Range.
@Suite("range requests against the real registry", .serialized)
struct RangeFetchTests {
    func withLayer(_ body: (_ proxy: FaultProxy, _ descriptor: Descriptor, _ bytes: [UInt8], _ repository: ImageReference) async throws -> Void) async throws {
        try Harness.require("skopeo")
        try await Harness.withWorkDirectoryAsync { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            try Harness.runOK(["dd", "if=/dev/urandom", "of=\(work)/random", "bs=1M", "count=3", "status=none"])
            try Harness.runOK(["gzip", "-1", work + "/random"])
            try MaterializeTests.addLayer(work + "/random.gz", toLayoutAt: work + "/src", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/range:1")
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/random.gz")))
            let digest = try Digest(parsing: "sha256:" + (try Harness.sha256(ofFile: work + "/random.gz")))
            let descriptor = Descriptor(mediaType: .ociLayerGzip, digest: digest, size: Int64(bytes.count))
            let proxy = try FaultProxy(upstream: registry, directory: work + "/proxy")
            try await body(proxy, descriptor, bytes, try ImageReference(parsing: "\(proxy.address)/team/range"))
        }
    }

    @Test("a redirected blob's storage location is reused for the next range, without asking the registry again")
    func storageLocationReused() async throws {
        try await withLayer { proxy, descriptor, bytes, repository in
            try proxy.setFaults([.init(match: "/v2/team/range/blobs/", fault: "redirect")])
            try await RegistryClient.with(credentials: AnonymousCredentials()) { client in
                for range: Range<Int64> in [0..<100, 100..<200, 5000..<6000] {
                    let collected = Collected()
                    let outcome = try await client.fetchBlob(descriptor, repository: repository, range: range) { collected.bytes += $0 }
                    #expect(outcome == .range)
                    #expect(collected.bytes == Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)]))
                }
            }
            let faults = try proxy.requests(matching: descriptor.digest.encoded).compactMap(\.fault)
            #expect(faults.filter { $0 == "redirect" }.count == 1, "\(faults)")
            #expect(faults.filter { $0 == "redirected-without-auth" }.count == 3)
        }
    }

    func fetch(_ descriptor: Descriptor, _ repository: ImageReference, range: Range<Int64>) async throws -> (BlobFetchOutcome, [UInt8]) {
        try await RegistryClient.with(credentials: AnonymousCredentials()) { client in
            let collected = Collected()
            let outcome = try await client.fetchBlob(descriptor, repository: repository, range: range) { collected.bytes += $0 }
            return (outcome, collected.bytes)
        }
    }

    @Test("a 206 with a matching Content-Range delivers exactly the range")
    func partial() async throws {
        try await withLayer { proxy, descriptor, bytes, repository in
            let range: Range<Int64> = 1_048_576..<2_097_152
            let (outcome, received) = try await fetch(descriptor, repository, range: range)
            #expect(outcome == .range)
            #expect(received == Array(bytes[1_048_576..<2_097_152]))
            #expect(try proxy.requests(matching: descriptor.digest.encoded).map(\.bytes) == [1_048_576])
        }
    }

    @Test("a 200 to a Range request is legal: the whole blob arrives and the caller is told")
    func wholeInsteadOfRange() async throws {
        try await withLayer { proxy, descriptor, bytes, repository in
            try proxy.setFaults([.init(match: "/blobs/", fault: "ignore-range")])
            let (outcome, received) = try await fetch(descriptor, repository, range: 10..<20)
            #expect(outcome == .whole)
            #expect(received == bytes)
        }
    }

    @Test("ping: /v2/ of a registry answers; a server that is not a registry is told apart")
    func ping() async throws {
        try await Harness.withWorkDirectoryAsync { work in
            let open = try RegistryServer(directory: work + "/open")
            try Harness.runOK(["htpasswd", "-B", "-C", "4", "-b", "-c", work + "/htpasswd", "tester", "s3cret"])
            let closed = try RegistryServer(directory: work + "/closed", htpasswd: work + "/htpasswd")
            let token = try TokenServer(directory: work + "/token")
            try await RegistryClient.with(credentials: AnonymousCredentials()) { client in
                try await client.ping(open.address)
                try await client.ping(closed.address)
                await #expect(throws: RegistryError.self) { try await client.ping("127.0.0.1:\(token.port)") }
            }
        }
    }

    @Test("a wrong Content-Range is refused before any byte is delivered")
    func lyingContentRange() async throws {
        try await withLayer { proxy, descriptor, _, repository in
            try proxy.setFaults([.init(match: "/blobs/", fault: "bad-content-range")])
            await #expect(throws: RegistryError.self) {
                _ = try await fetch(descriptor, repository, range: 10..<20)
            }
        }
    }
}

/// Bytes gathered by a sink (called on one task at a time).
final class Collected: @unchecked Sendable {
    var bytes: [UInt8] = []
}
