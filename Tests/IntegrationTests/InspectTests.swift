import Foundation
import OCISpec
import TestSupport
import Testing

/// `layoutfs inspect` against `skopeo inspect` of the same image: the facts of `--json`, and
/// `--raw` and `--config` byte for byte; an index with and without `--platform`; a lazy image
/// (nothing fetched: the registry is gone by then); a `--content` directory; bad input.
@Suite("inspect", .serialized)
struct InspectTests {
    /// Parses a JSON object printed by a command.
    static func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)", sourceLocation: sourceLocation)
    }

    /// `skopeo [global...] inspect [arguments...] IMAGE` as a JSON object.
    static func skopeo(_ image: String, global: [String] = [], _ arguments: [String] = []) throws -> [String: Any] {
        try object(try Harness.runOK(["skopeo"] + global + ["inspect"] + arguments + [image]).stdout)
    }

    /// Compares our `--json` with skopeo's inspect of the same image: digest, architecture, os,
    /// created, env, labels and the layer digests (skopeo 1.9 has no `LayersData`: the layers'
    /// sizes and media types are compared with the manifest, ``expectSameLayers(_:_:)``).
    static func expectSameFacts(_ ours: [String: Any], _ theirs: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(ours["digest"] as? String == theirs["Digest"] as? String, sourceLocation: sourceLocation)
        #expect(ours["architecture"] as? String == theirs["Architecture"] as? String, sourceLocation: sourceLocation)
        #expect(ours["os"] as? String == theirs["Os"] as? String, sourceLocation: sourceLocation)
        #expect(ours["created"] as? String == theirs["Created"] as? String, sourceLocation: sourceLocation)
        #expect(ours["env"] as? [String] ?? [] == theirs["Env"] as? [String] ?? [], sourceLocation: sourceLocation)
        #expect(ours["labels"] as? [String: String] ?? [:] == theirs["Labels"] as? [String: String] ?? [:], sourceLocation: sourceLocation)
        let layers = (ours["layers"] as? [[String: Any]] ?? []).map { $0["digest"] as? String ?? "" }
        #expect(!layers.isEmpty && layers == theirs["Layers"] as? [String], "\(layers) \(theirs)", sourceLocation: sourceLocation)
    }

    /// Compares our layers' digest, size and media type with the manifest's (its bytes as skopeo
    /// inspect --raw prints them, or as the fixture wrote them).
    static func expectSameLayers(_ ours: [String: Any], _ manifest: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let theirs = try object(manifest, sourceLocation: sourceLocation)["layers"] as? [[String: Any]] ?? []
        let describe = { (layer: [String: Any]) in "\(layer["digest"] ?? "") \(layer["size"] ?? "") \(layer["mediaType"] ?? "")" }
        let layers = (ours["layers"] as? [[String: Any]] ?? []).map(describe)
        #expect(!layers.isEmpty && layers == theirs.map(describe), "\(layers) \(theirs)", sourceLocation: sourceLocation)
    }

    /// The demo image (umoci, two gzip layers) with an entrypoint, a user, more env and two
    /// labels, imported as demo/busybox:1.35; `body` gets the work directory and the store.
    func withDemo(_ body: (_ work: String, _ store: String) throws -> Void) throws {
        try Harness.require("skopeo", "umoci")
        try Harness.withWorkDirectory { work in
            try Harness.makeDemoImage(at: work + "/src")
            try Harness.runOK([
                "umoci", "config", "--image", work + "/src:1.35", "--config.entrypoint", "/bin/sh", "--config.user", "0:0", "--config.env", "HOME=/root",
                "--config.label", "org.example.team=layoutfs", "--config.label", "org.example.tier=demo",
            ])
            try Harness.runOK(["umoci", "gc", "--layout", work + "/src"])
            let store = work + "/store"
            try Harness.layoutfs(["import", work + "/src", "--name", "demo/busybox:1.35"], store: store)
            try body(work, store)
        }
    }

    @Test("a manifest: --json has skopeo inspect's facts; --raw and --config are skopeo's bytes exactly; the human form says the same")
    func manifest() throws {
        try withDemo { work, store in
            let theirs = try Self.skopeo("oci:\(work)/src:1.35")
            let ours = try Self.object(try Harness.layoutfs(["inspect", "demo/busybox:1.35", "--json"], store: store).stdout)
            Self.expectSameFacts(ours, theirs)
            #expect((theirs["Labels"] as? [String: String])?["org.example.tier"] == "demo", "the fixture has labels: \(theirs)")
            #expect(ours["names"] as? [String] == ["docker.io/demo/busybox:1.35"])
            #expect(ours["mediaType"] as? String == MediaType.ociManifest.rawValue)
            #expect(ours["platforms"] is NSNull)
            #expect(ours["entrypoint"] as? [String] == ["/bin/sh"] && ours["cmd"] as? [String] == ["/bin/sh"], "\(ours)")
            #expect(ours["user"] as? String == "0:0" && ours["workingDir"] as? String == "/", "\(ours)")
            let layers = ours["layers"] as? [[String: Any]] ?? []
            #expect(layers.count == 2 && layers.allSatisfy { $0["state"] as? String == "local" && $0["cachedBytes"] == nil }, "\(layers)")

            let raw = try Harness.layoutfs(["inspect", "demo/busybox:1.35", "--raw"], store: store).stdout
            #expect(raw == (try Harness.runOK(["skopeo", "inspect", "--raw", "oci:\(work)/src:1.35"]).stdout))
            let config = try Harness.layoutfs(["inspect", "demo/busybox:1.35", "--config"], store: store).stdout
            #expect(config == (try Harness.runOK(["skopeo", "inspect", "--config", "--raw", "oci:\(work)/src:1.35"]).stdout))
            try Self.expectSameLayers(ours, raw)

            // By a digest prefix, as images prints it: the same image, with its name.
            let digest = try #require(ours["digest"] as? String)
            let human = try Harness.layoutfs(["inspect", String(digest.prefix(19))], store: store).stdout
            #expect(human.contains("Names:        docker.io/demo/busybox:1.35"), "\(human)")
            #expect(human.contains("Digest:       \(digest)") && human.contains("Labels:       org.example.team=layoutfs"), "\(human)")
            #expect(human.contains("Entrypoint:   [\"/bin/sh\"]"), "\(human)")
            #expect(!human.contains("Platforms:"), "a manifest has no platform list: \(human)")
        }
    }

    /// An index of amd64 and arm64/v8 images (with BuildKit-style attestations) imported as
    /// demo/multi:1 (ref name 1 in the source layout); `body` gets the work directory, the
    /// store and the built index.
    func withIndex(_ body: (_ work: String, _ store: String, _ built: BuiltIndex) throws -> Void) throws {
        try Harness.require("skopeo")
        try Harness.withWorkDirectory { work in
            let layout = try ImageBuilder(path: work + "/src")
            let built = try layout.addMultiPlatformImage()
            try layout.writeIndex([ImageBuilder.entry(built.index, refName: "1")])
            let store = work + "/store"
            try Harness.layoutfs(["import", work + "/src", "--name", "demo/multi:1"], store: store)
            try body(work, store, built)
        }
    }

    @Test("an index: its platforms; this machine's manifest by default and --platform's otherwise, as skopeo (--override-arch) chooses")
    func index() throws {
        try withIndex { work, store, built in
            let source = "oci:\(work)/src:1"
            let ours = try Self.object(try Harness.layoutfs(["inspect", "demo/multi:1", "--json"], store: store).stdout)
            Self.expectSameFacts(ours, try Self.skopeo(source))
            #expect(ours["digest"] as? String == built.index.digest.description)
            #expect((ours["manifest"] as? [String: Any])?["digest"] as? String == built.images[0].manifest.digest.description, "\(ours)")
            let platforms = (ours["platforms"] as? [[String: Any]] ?? []).map { "\($0["platform"] ?? "") \($0["digest"] ?? "")" }
            #expect(platforms == ["linux/amd64 \(built.images[0].manifest.digest)", "linux/arm64/v8 \(built.images[1].manifest.digest)"], "\(ours)")

            let arm64 = ["--override-arch", "arm64", "--override-variant", "v8"]
            let chosen = try Self.object(try Harness.layoutfs(["inspect", "demo/multi:1", "--json", "--platform", "linux/arm64"], store: store).stdout)
            Self.expectSameFacts(chosen, try Self.skopeo(source, global: arm64))
            #expect(chosen["variant"] as? String == "v8" && chosen["platform"] as? String == "linux/arm64/v8", "\(chosen)")

            let raw = try Harness.layoutfs(["inspect", "demo/multi:1", "--raw"], store: store).stdout
            #expect(raw == (try Harness.runOK(["skopeo", "inspect", "--raw", source]).stdout))
            let rawArm = try Harness.layoutfs(["inspect", "demo/multi:1", "--raw", "--platform", "linux/arm64"], store: store).stdout
            #expect(Array(rawArm.utf8) == built.images[1].manifestBytes)
            try Self.expectSameLayers(ours, String(decoding: built.images[0].manifestBytes, as: UTF8.self))
            try Self.expectSameLayers(chosen, rawArm)
            let config = try Harness.layoutfs(["inspect", "demo/multi:1", "--config", "--platform", "linux/arm64"], store: store).stdout
            #expect(config == (try Harness.runOK(["skopeo"] + arm64 + ["inspect", "--config", "--raw", source]).stdout))

            let human = try Harness.layoutfs(["inspect", "demo/multi:1"], store: store).stdout
            #expect(human.contains("Platforms:    linux/amd64     \(built.images[0].manifest.digest)"), "\(human)")
            #expect(human.contains("(linux/amd64: this machine's platform; --platform chooses another)"), "\(human)")

            let missing = try Harness.layoutfs(["inspect", "demo/multi:1", "--platform", "linux/s390x"], store: store, expectSuccess: false)
            #expect(
                !missing.succeeded && missing.stderr.contains("has no manifest for linux/s390x; it offers: linux/amd64, linux/arm64/v8"), "\(missing.stderr)")
        }
    }

    @Test("--content DIR: an image of a content directory by digest prefix, read there, nothing copied into the store")
    func contentDirectory() throws {
        try withIndex { work, _, built in
            let store = work + "/empty-store"
            let prefix = String(built.index.digest.encoded.prefix(12))
            let ours = try Self.object(try Harness.layoutfs(["inspect", "--content", work + "/src", prefix, "--json"], store: store).stdout)
            #expect(ours["digest"] as? String == built.index.digest.description && ours["names"] as? [String] == [], "\(ours)")
            #expect((ours["layers"] as? [[String: Any]] ?? []).map { $0["state"] as? String } == ["local", "local"], "\(ours)")
            let blobs = (try? FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256")) ?? []
            #expect(blobs.isEmpty, "\(blobs)")
        }
    }

    @Test("a lazy image: inspect reads the stored manifest and config only, with the registry gone; layers say lazy, with the bytes a mount cached")
    func lazy() throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo")
        try Harness.withWorkDirectory { work in
            let (registry, reference) = try RegistryServer.holdingDemo(work, as: "team/lazy:1")
            let store = work + "/store"
            try Harness.layoutfs(["pull", "--lazy", reference], store: store)
            let theirs = try Self.skopeo("docker://\(reference)", ["--tls-verify=false"])
            let theirRaw = try Harness.runOK(["skopeo", "inspect", "--tls-verify=false", "--raw", "docker://\(reference)"]).stdout
            let theirConfig = try Harness.runOK(["skopeo", "inspect", "--tls-verify=false", "--config", "--raw", "docker://\(reference)"]).stdout
            // A mount reads 4 KiB of the large layer (no prefetch): its first 1 MiB chunk is cached.
            let large = try #require(
                (try Self.object(theirRaw)["layers"] as? [[String: Any]])?.max { ($0["size"] as? Int ?? 0) < ($1["size"] as? Int ?? 0) })
            let largeDigest = try #require(large["digest"] as? String)
            let mnt = work + "/mnt"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try Harness.layoutfs(["mount", reference, mnt, "--prefetch", "none"], store: store)
            let read = try Harness.run(["dd", "if=\(mnt)/blobs/sha256/\(largeDigest.dropFirst(7))", "of=/dev/null", "bs=4k", "count=1"])
            // The mount stores a fetched chunk's bit in a batch after the data is synced (about
            // 100 ms later): wait for the bit (bounded) before unmounting, which ends the batch.
            let chunks = store + "/cache/sha256/\(largeDigest.dropFirst(7)).chunks"
            let deadline = ContinuousClock.now + .seconds(10)
            while ((try? FileManager.default.attributesOfItem(atPath: chunks)[.size] as? Int) ?? 0) == 0, ContinuousClock.now < deadline {
                usleep(20_000)
            }
            try Harness.layoutfs(["unmount", mnt], store: store)
            #expect(read.succeeded, "\(read.stderr)")
            let blobsBefore = try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256").sorted()
            let cacheBefore = try FileManager.default.contentsOfDirectory(atPath: store + "/cache/sha256").sorted()
            registry.stop()

            let ours = try Self.object(try Harness.layoutfs(["inspect", reference, "--json"], store: store).stdout)
            Self.expectSameFacts(ours, theirs)
            let layers = ours["layers"] as? [[String: Any]] ?? []
            #expect(layers.count == 2 && layers.allSatisfy { $0["state"] as? String == "lazy" }, "\(layers)")
            let cached = layers.map { ($0["digest"] as? String ?? "", $0["cachedBytes"] as? Int ?? -1) }
            #expect(cached.allSatisfy { $0.1 == ($0.0 == largeDigest ? 1 << 20 : 0) }, "\(cached)")
            #expect(try Harness.layoutfs(["inspect", reference, "--raw"], store: store).stdout == theirRaw)
            try Self.expectSameLayers(ours, theirRaw)
            #expect(try Harness.layoutfs(["inspect", reference, "--config"], store: store).stdout == theirConfig)
            let human = try Harness.layoutfs(["inspect", reference], store: store).stdout
            #expect(human.contains("lazy (0 B cached)") && human.contains("lazy (1.0 MiB cached)"), "\(human)")
            // Nothing was fetched: the store holds what the pull left, the cache nothing.
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256").sorted() == blobsBefore)
            #expect(blobsBefore.count == 2, "manifest and config: \(blobsBefore)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/cache/sha256").sorted() == cacheBefore)
        }
    }

    @Test(
        "--containerd: an image by containerd's name, its layers local (its directory) or remote (its API); a name in another namespace says which",
        arguments: ["directory", "api"])
    func containerd(_ access: String) throws {
        try Harness.withWorkDirectory { work in
            let containerd = try ContainerdServer(directory: work + "/containerd")
            let built = try containerd.importBuilt(work + "/app", name: "docker.io/demo/app:1")
            try containerd.importBuilt(work + "/other", name: "docker.io/demo/other:1", namespace: "other")
            let environment = ["LAYOUTFS_ROOT": work + "/store", "LAYOUTFS_CONTAINERD_READ": access == "api" ? "api" : ""]
            let inspect = { (arguments: [String]) in
                try Harness.run([Harness.binary, "inspect", "--containerd=\(containerd.socket)"] + arguments, environment: environment)
            }
            let result = try inspect(["demo/app:1", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let ours = try Self.object(result.stdout)
            #expect(ours["digest"] as? String == built.manifest.digest.description && ours["names"] as? [String] == ["docker.io/demo/app:1"], "\(ours)")
            let states = (ours["layers"] as? [[String: Any]] ?? []).map { $0["state"] as? String ?? "" }
            #expect(states == Array(repeating: access == "api" ? "remote" : "local", count: 2), "\(ours)")
            let raw = try inspect(["demo/app:1", "--raw"])
            #expect(raw.status == 0 && Array(raw.stdout.utf8) == built.manifestBytes, "\(raw.stderr)")
            let elsewhere = try inspect(["demo/other:1"])
            #expect(elsewhere.status == 1 && elsewhere.stderr.contains("add --namespace other"), "\(elsewhere.stderr)")
        }
    }

    @Test("bad input: an unknown image lists what there is; --raw with --config, --json with --raw, a bad platform are refused")
    func badInput() throws {
        try withDemo { _, store in
            let unknown = try Harness.layoutfs(["inspect", "demo/nothing:1"], store: store, expectSuccess: false)
            #expect(unknown.status == 1, "\(unknown.stderr)")
            #expect(unknown.stderr.contains("layoutfs: error: no image named docker.io/demo/nothing:1"), "\(unknown.stderr)")
            #expect(unknown.stderr.contains("docker.io/demo/busybox:1.35"), "lists what there is: \(unknown.stderr)")
            let both = try Harness.layoutfs(["inspect", "demo/busybox:1.35", "--raw", "--config"], store: store, expectSuccess: false)
            #expect(!both.succeeded && both.stderr.contains("--raw prints the manifest or index, --config the config: give one of them"), "\(both.stderr)")
            let json = try Harness.layoutfs(["inspect", "demo/busybox:1.35", "--json", "--raw"], store: store, expectSuccess: false)
            #expect(!json.succeeded && json.stderr.contains("--json prints the details"), "\(json.stderr)")
            let platform = try Harness.layoutfs(["inspect", "demo/busybox:1.35", "--platform", "linux"], store: store, expectSuccess: false)
            #expect(!platform.succeeded && platform.stderr.contains("invalid platform"), "\(platform.stderr)")
            #expect(![unknown, both, json, platform].contains { $0.stderr.contains("Fatal error") || $0.stdout.count > 0 })
        }
    }

    @Test("a config that is not valid JSON is an error naming the blob (the manifest is fine)")
    func malformedConfig() throws {
        try Harness.withWorkDirectory { work in
            let layout = try ImageBuilder(path: work + "/src")
            let config = try layout.addBlob(Array("{\"architecture\": \"amd64\", ".utf8), mediaType: .ociConfig)
            let layer = try layout.addLayer()
            let manifest = try layout.addBlob(
                JSONValue.object([
                    ("schemaVersion", .number("2")), ("mediaType", .string(MediaType.ociManifest.rawValue)), ("config", config.json),
                    ("layers", .array([layer.json])),
                ]).encoded, mediaType: .ociManifest)
            let store = work + "/store"
            // Import checks configs: the store gets it through --content instead, as another tool wrote it.
            let prefix = String(manifest.digest.encoded.prefix(12))
            let failed = try Harness.layoutfs(["inspect", "--content", work + "/src", prefix], store: store, expectSuccess: false)
            #expect(failed.status == 1 && failed.stderr.contains("\(config.digest)") && failed.stderr.contains("invalid"), "\(failed.stderr)")
            #expect(!failed.stderr.contains("Fatal error"), "\(failed.stderr)")
        }
    }
}
