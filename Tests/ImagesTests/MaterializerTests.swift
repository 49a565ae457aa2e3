import ContentStore
import Foundation
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A store holding images `docker.io/demo/a:1` (single platform) and `docker.io/demo/b:2`
/// (multi-platform), and their plans.
private struct Fixture {
    let store: Store
    let tmp: String
    let a: BuiltImage
    let b: BuiltIndex

    init(_ store: Store, _ tmp: String) throws {
        self.store = store
        self.tmp = tmp
        let layout = try ImageBuilder(path: tmp + "/source")
        a = try layout.addImage(platform: amd64, layerCount: 3)
        b = try layout.addMultiPlatformImage()
        try layout.writeIndex([
            ImageBuilder.entry(a.manifest, imageName: "docker.io/demo/a:1"),
            ImageBuilder.entry(b.index, imageName: "docker.io/demo/b:2"),
        ])
        try importLayout(store, layout.path)
    }

    func plan(_ names: [String], platform: Platform? = nil) throws -> LayoutPlan {
        let images = try names.map { try store.resolve(.name(ImageReference(parsing: $0))) }
        return try LayoutPlan(store: store, images: images, platform: platform)
    }

    func materialize(_ plan: LayoutPlan, _ destination: String, verify: Bool = false) throws -> Materializer.Summary {
        try Materializer(store: store).materialize(plan, into: destination, options: .init(verifyExisting: verify))
    }

    /// Checks the destination against the plan and the store, byte for byte.
    func check(_ destination: String, _ plan: LayoutPlan) throws {
        #expect(try readFile(destination + "/oci-layout") == ImageLayout.layoutFileContents)
        let index = try ImageIndex(bytes: readFile(destination + "/index.json"))
        for entry in plan.entries { #expect(index.manifests.contains(entry)) }
        for blob in plan.blobs {
            let path = destination + "/" + blob.digest.blobPath
            var st = stat()
            #expect(lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG)
            #expect(try readFile(path) == store.content.readBlob(blob.digest, maximumSize: .max))
        }
    }
}

private func withFixture<R>(_ body: (Fixture) throws -> R) throws -> R {
    try withStore { store, tmp in try body(Fixture(store, tmp)) }
}

/// Names in `<dir>/blobs/sha256` that are not digests (temps left behind).
private func leftovers(_ dir: String) -> [String] {
    listing(dir + "/blobs/sha256").filter { !Digest.isValid("sha256:" + $0) }
}

@Suite("Materializer")
struct MaterializerTests {
    @Test("the first run copies every blob; the second copies nothing and leaves index.json alone")
    func secondRunCopiesNothing() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1", "demo/b:2"])
            let out = fixture.tmp + "/out"
            var progress: [(Int, Int)] = []
            let first = try Materializer(store: fixture.store).materialize(plan, into: out) { progress.append(($0, $1)) }
            #expect(first.copiedBlobs == plan.blobs.count)
            #expect(first.copiedBytes == plan.blobs.reduce(0) { $0 + $1.size })
            #expect(first.skippedBlobs == 0)
            #expect(first.indexWritten)
            #expect(progress.count == plan.blobs.count)
            #expect(progress.last.map { $0 == (plan.blobs.count, plan.blobs.count) } == true)
            try fixture.check(out, plan)
            #expect(try ImageIndex(bytes: readFile(out + "/index.json")).manifests == plan.entries)
            let indexBefore = try readFile(out + "/index.json")
            var before = stat()
            stat(out + "/index.json", &before)

            let second = try fixture.materialize(plan, out)
            #expect(second.copiedBlobs == 0)
            #expect(second.copiedBytes == 0)
            #expect(second.skippedBlobs == plan.blobs.count)
            #expect(!second.indexWritten)
            var after = stat()
            stat(out + "/index.json", &after)
            #expect(after.st_ino == before.st_ino)
            #expect(try readFile(out + "/index.json") == indexBefore)
            #expect(leftovers(out).isEmpty)
            #expect(!pathExists(out + "/index.json.lock"))
        }
    }

    @Test("--verify-existing finds a wrong blob of the right size and replaces it")
    func verifyExisting() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1"])
            let out = fixture.tmp + "/out"
            _ = try fixture.materialize(plan, out)
            let victim = fixture.a.layers[1]
            let path = out + "/" + victim.digest.blobPath
            var bytes = try readFile(path)
            bytes[bytes.count / 2] ^= 0x55
            try writeFile(path, bytes)

            let trusting = try fixture.materialize(plan, out)
            #expect(trusting.copiedBlobs == 0)  // same size: trusted without --verify-existing

            let verified = try fixture.materialize(plan, out, verify: true)
            #expect(verified.replacedBlobs == 1)
            #expect(verified.copiedBlobs == 1)
            #expect(verified.skippedBlobs == plan.blobs.count - 1)
            try fixture.check(out, plan)
            #expect(leftovers(out).isEmpty)
        }
    }

    @Test("a blob of the wrong size is replaced without --verify-existing")
    func wrongSize() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1"])
            let out = fixture.tmp + "/out"
            let victim = fixture.a.layers[0]
            try FileManager.default.createDirectory(atPath: out + "/blobs/sha256", withIntermediateDirectories: true)
            try writeFile(out + "/" + victim.digest.blobPath, [1, 2, 3])
            let summary = try fixture.materialize(plan, out)
            #expect(summary.replacedBlobs == 1)
            #expect(summary.copiedBlobs == plan.blobs.count)
            try fixture.check(out, plan)
        }
    }

    @Test("a destination whose blobs is a symlink to elsewhere is refused, and nothing is written there")
    func symlinkedBlobs() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1"])
            let out = fixture.tmp + "/out"
            let elsewhere = fixture.tmp + "/elsewhere"
            try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: out + "/blobs", withDestinationPath: elsewhere)
            let error = #expect(throws: ImagesError.self) { try fixture.materialize(plan, out) }
            #expect(error?.code == .unsafeDestination)
            #expect(error?.message.contains("blobs") == true)
            #expect(listing(elsewhere).isEmpty)
            #expect(!pathExists(out + "/index.json"))
        }
    }

    @Test("blobs/sha256 as a symlink is refused too")
    func symlinkedAlgorithmDirectory() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1"])
            let out = fixture.tmp + "/out"
            let elsewhere = fixture.tmp + "/elsewhere"
            try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: out + "/blobs", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: out + "/blobs/sha256", withDestinationPath: elsewhere)
            #expect((#expect(throws: ImagesError.self) { try fixture.materialize(plan, out) })?.code == .unsafeDestination)
            #expect(listing(elsewhere).isEmpty)
            #expect(!pathExists(out + "/index.json"))
        }
    }

    @Test("a blob file that is a symlink is replaced by a real file; its target is untouched")
    func symlinkedBlobFile() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1"])
            let out = fixture.tmp + "/out"
            let precious = fixture.tmp + "/precious"
            try writeFile(precious, [7, 7, 7])
            try FileManager.default.createDirectory(atPath: out + "/blobs/sha256", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: out + "/" + fixture.a.config.digest.blobPath, withDestinationPath: precious)
            _ = try fixture.materialize(plan, out)
            try fixture.check(out, plan)
            #expect(try readFile(precious) == [7, 7, 7])
        }
    }

    @Test("an existing index.json that is not a valid index is left untouched, with a clear error")
    func invalidExistingIndex() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1"])
            let out = fixture.tmp + "/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let garbage = Array(#"{"schemaVersion":2,"manifests":[{"broken"#.utf8)
            try writeFile(out + "/index.json", garbage)
            let error = #expect(throws: ImagesError.self) { try fixture.materialize(plan, out) }
            #expect(error?.code == .invalidLayout)
            #expect(error?.message.contains("index.json") == true)
            #expect(error?.message.contains("left as it is") == true)
            #expect(try readFile(out + "/index.json") == garbage)
            #expect(!pathExists(out + "/index.json.lock"))
        }
    }

    @Test("an existing index.json keeps its other entries and unknown fields")
    func mergeIntoExisting() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1"])
            let out = fixture.tmp + "/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let foreignEntry =
                #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: "e", count: 64))","size":5,"annotations":{"org.opencontainers.image.ref.name":"other"},"x-entry":true}"#
            let existing = #"{"schemaVersion":2,"manifests":[\#(foreignEntry)],"x-unknown":{"big":18446744073709551615,"url":"https://a/b"}}"#
            try writeFile(out + "/index.json", Array(existing.utf8))
            let summary = try fixture.materialize(plan, out)
            #expect(summary.indexWritten)
            let text = String(decoding: try readFile(out + "/index.json"), as: UTF8.self)
            #expect(text.hasPrefix(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\#(foreignEntry),"#))
            #expect(text.hasSuffix(#"],"x-unknown":{"big":18446744073709551615,"url":"https://a/b"}}"#))
            #expect(try ImageIndex(bytes: Array(text.utf8)).manifests.count == 2)
        }
    }

    @Test(
        "an empty or media-type-less index.json is completed: the OCI index media type written, the empty forms warned about",
        arguments: [
            ("", "is an empty index (0 bytes)"), ("{}", "is an empty index ({})"),
            (#"{"schemaVersion":2,"manifests":[]}"#, "is an empty index (no manifests)"),
            (
                #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}"#,
                "has mediaType application/vnd.oci.image.manifest.v1+json"
            ),
        ])
    func emptyOrUntypedIndex(existing: String, warning: String) throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1"])
            let out = fixture.tmp + "/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try writeFile(out + "/index.json", Array(existing.utf8))
            let summary = try fixture.materialize(plan, out)
            #expect(summary.indexWritten)
            #expect(summary.warnings.contains { $0.contains(out + "/index.json " + warning) }, "\(summary.warnings)")
            let index = try ImageIndex(bytes: readFile(out + "/index.json"))
            #expect(index.mediaType == .ociIndex)
            #expect(index.manifests == plan.entries)
            try fixture.check(out, plan)
        }
    }

    @Test("two materializations of different images into one directory at once both end up in index.json")
    func concurrentMaterializations() throws {
        try withFixture { fixture in
            let planA = try fixture.plan(["demo/a:1"])
            let planB = try fixture.plan(["demo/b:2"])
            for round in 0..<3 {
                let out = fixture.tmp + "/out\(round)"
                let failures = Locked<[String]>([])
                runConcurrently(2) { i in
                    do {
                        _ = try fixture.materialize(i == 0 ? planA : planB, out)
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
                #expect(failures.current.isEmpty)
                let index = try ImageIndex(bytes: readFile(out + "/index.json"))
                #expect(Set(index.manifests.map(\.digest)) == [fixture.a.manifest.digest, fixture.b.index.digest])
                #expect(index.manifests.count == 2)
                try fixture.check(out, planA)
                try fixture.check(out, planB)
                #expect(leftovers(out).isEmpty)
                #expect(!listing(out).contains { $0.hasSuffix(".tmp") })
            }
        }
    }

    @Test("a corrupt store blob is refused, and nothing appears under its name")
    func corruptStoreBlob() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/a:1"])
            let out = fixture.tmp + "/out"
            let victim = fixture.a.layers[2]
            let storePath = fixture.store.content.path(of: victim.digest)
            var bytes = try readFile(storePath)
            bytes[0] ^= 1
            chmod(storePath, 0o644)
            try writeFile(storePath, bytes)
            let error = #expect(throws: ImagesError.self) { try fixture.materialize(plan, out) }
            #expect(error?.code == .corruptBlob)
            #expect(error?.message.contains(victim.digest.description) == true)
            #expect(!pathExists(out + "/" + victim.digest.blobPath))
            #expect(leftovers(out).isEmpty)
            #expect(!pathExists(out + "/index.json"))
        }
    }

    @Test("--platform materializes one platform: a complete single-manifest layout")
    func platform() throws {
        try withFixture { fixture in
            let plan = try fixture.plan(["demo/b:2"], platform: amd64)
            let out = fixture.tmp + "/out"
            _ = try fixture.materialize(plan, out)
            try fixture.check(out, plan)
            #expect(Set(listing(out + "/blobs/sha256")) == Set(fixture.b.images[0].blobs.map(\.digest.encoded)))
            let index = try ImageIndex(bytes: readFile(out + "/index.json"))
            #expect(index.manifests.map(\.digest) == [fixture.b.images[0].manifest.digest])
        }
    }
}
