import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs pull` through a fault-injecting proxy in front of a real registry: every fault
/// either heals (retries) with the right bytes in the store, or fails with nothing wrong committed.
@Suite("pull through faults", .serialized)
struct PullFaultTests {
    /// A registry holding the demo image plus a 4 MiB random layer, and a proxy in front of it.
    func withFaultyRegistry(_ body: (_ work: String, _ proxy: FaultProxy, _ layer: String, _ layerSize: Int) throws -> Void) throws {
        try Harness.require("skopeo", "jq")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            // gzip-typed (random bytes gzip'ed), so skopeo pushes it unchanged: a known digest.
            try Harness.runOK(["dd", "if=/dev/urandom", "of=\(work)/random", "bs=1M", "count=4", "status=none"])
            try Harness.runOK(["gzip", "-k", "-1", work + "/random"])
            try Harness.runOK(["mv", work + "/random.gz", work + "/layer"])
            try MaterializeTests.addLayer(work + "/layer", toLayoutAt: work + "/src", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip")
            let layer = try Harness.sha256(ofFile: work + "/layer")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/app:1")
            let proxy = try FaultProxy(upstream: registry, directory: work + "/proxy")
            let size = try #require(try FileManager.default.attributesOfItem(atPath: work + "/layer")[.size] as? Int)
            try body(work, proxy, layer, size)
        }
    }

    func pull(_ proxy: FaultProxy, store: String, extra: [String] = []) throws -> RunResult {
        try Harness.run([Harness.binary, "pull", "\(proxy.address)/team/app:1", "--root", store] + extra)
    }

    func storeHas(_ store: String, _ digest: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(store)/content/blobs/sha256/\(digest)")
    }

    @Test("two 500s on a blob are retried; the pull completes with the right bytes")
    func serverErrors() throws {
        try withFaultyRegistry { work, proxy, layer, _ in
            try proxy.setFaults([.init(match: "/blobs/sha256:\(layer)", fault: "status500", times: 2)])
            let result = try pull(proxy, store: work + "/store")
            #expect(result.succeeded, "\(result.stderr)")
            let attempts = try proxy.requests(matching: layer)
            #expect(attempts.map(\.fault) == ["status500", "status500", nil])
            #expect(try Harness.sha256(ofFile: "\(work)/store/content/blobs/sha256/\(layer)") == layer)
        }
    }

    @Test("a 429 with Retry-After on the manifest is waited out and retried")
    func tooManyRequests() throws {
        try withFaultyRegistry { work, proxy, _, _ in
            try proxy.setFaults([.init(match: "/manifests/", fault: "status429", times: 1)])
            let result = try pull(proxy, store: work + "/store")
            #expect(result.succeeded, "\(result.stderr)")
            #expect(try proxy.requests(matching: "/manifests/").prefix(2).map(\.fault) == ["status429", nil])
        }
    }

    @Test("a connection reset mid-body restarts the blob; the store gets exactly the right bytes")
    func resetMidBody() throws {
        try withFaultyRegistry { work, proxy, layer, size in
            try proxy.setFaults([.init(match: "/blobs/sha256:\(layer)", fault: "reset", times: 1)])
            let result = try pull(proxy, store: work + "/store")
            #expect(result.succeeded, "\(result.stderr)")
            let attempts = try proxy.requests(matching: layer)
            #expect(attempts.count == 2)
            #expect(attempts.first?.fault == "reset" && attempts.first!.bytes == size / 2)
            #expect(attempts.last?.bytes == size)
            #expect(try Harness.sha256(ofFile: "\(work)/store/content/blobs/sha256/\(layer)") == layer)
            #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/store/content/ingest").isEmpty)
        }
    }

    @Test("a stalled blob GET times out and is retried")
    func stall() throws {
        try withFaultyRegistry { work, proxy, layer, _ in
            try proxy.setFaults([.init(match: "/blobs/sha256:\(layer)", fault: "stall", times: 1)])
            let result = try pull(proxy, store: work + "/store", extra: ["--timeout", "2"])
            #expect(result.succeeded, "\(result.stderr)")
            let faults = try proxy.requests(matching: layer).map(\.fault)
            #expect(faults == ["stall", nil], "\(faults)")
            #expect(storeHas(work + "/store", layer))
        }
    }

    @Test("a blob GET that trickles bytes (never silent long enough for a read timeout) is abandoned and retried")
    func trickle() throws {
        try withFaultyRegistry { work, proxy, layer, _ in
            try proxy.setFaults([.init(match: "/blobs/sha256:\(layer)", fault: "trickle", times: 1)])
            let result = try pull(proxy, store: work + "/store", extra: ["--timeout", "2"])
            #expect(result.succeeded, "\(result.stderr)")
            // The abandoned request is recorded when the proxy notices, possibly after the retry.
            #expect(try proxy.requests(matching: layer).contains { $0.fault == nil && $0.bytes > 0 })
            #expect(storeHas(work + "/store", layer))
        }
    }

    @Test("Ctrl-C (SIGINT) during a pull names nothing; a re-run fetches only what is missing")
    func interruptedPull() throws {
        try withFaultyRegistry { work, proxy, layer, _ in
            try proxy.setFaults([.init(match: "/blobs/sha256:\(layer)", fault: "stall", times: 1)])
            let store = work + "/store"
            let child = try Harness.spawn([Harness.binary, "pull", "\(proxy.address)/team/app:1", "--root", store])
            // Interrupt once the big layer's request is hanging in the proxy (observed, bounded).
            var stalled = false
            for _ in 0..<2000 where !stalled {
                stalled = (try? proxy.requests(matching: layer).contains { $0.fault == "stall" }) ?? false
                if !stalled { usleep(10_000) }
            }
            #expect(stalled)
            kill(child.pid, SIGINT)
            #expect(Harness.wait(child.pid) != 0)
            #expect(!(try Harness.layoutfs(["images"], store: store).stdout.contains("team/app")))
            #expect(!storeHas(store, layer))
            let kept = Set(try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256"))
            let before = try proxy.stats().requests.count
            let again = try pull(proxy, store: store)
            #expect(again.succeeded, "\(again.stderr)")
            let fetched = try proxy.stats().requests.dropFirst(before).compactMap { row -> String? in
                guard case .string(let path) = row[1], path.contains("/blobs/") else { return nil }
                return String(path.split(separator: ":").last ?? "")
            }
            #expect(fetched.contains(layer))
            #expect(Set(fetched).isDisjoint(with: kept))
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/content/ingest").isEmpty, "the stale ingest is cleaned")
        }
    }

    @Test("a flipped byte is refused: nothing committed for that blob, no name bound, the error names the digest")
    func flippedByte() throws {
        try withFaultyRegistry { work, proxy, layer, _ in
            try proxy.setFaults([.init(match: "/blobs/sha256:\(layer)", fault: "flip-byte")])
            let result = try pull(proxy, store: work + "/store")
            #expect(!result.succeeded)
            #expect(result.stderr.contains("layoutfs: error:"))
            #expect(result.stderr.contains(layer), "\(result.stderr)")
            #expect(!storeHas(work + "/store", layer))
            #expect(!(try Harness.layoutfs(["images"], store: work + "/store").stdout.contains("team/app")))
            // Without the fault, a re-run completes and fetches only what is missing.
            let kept = Set(try FileManager.default.contentsOfDirectory(atPath: work + "/store/content/blobs/sha256"))
            let before = try proxy.stats().requests.count
            try proxy.setFaults([])
            let again = try pull(proxy, store: work + "/store")
            #expect(again.succeeded, "\(again.stderr)")
            #expect(storeHas(work + "/store", layer))
            let refetched = try proxy.stats().requests.dropFirst(before).compactMap { row -> String? in
                guard case .string(let path) = row[1], path.contains("/blobs/") else { return nil }
                return String(path.split(separator: ":").last ?? "")
            }
            #expect(refetched.contains(layer))
            #expect(Set(refetched).isDisjoint(with: kept), "blobs already committed must not be fetched again")
        }
    }
}
