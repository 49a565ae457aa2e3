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

@Suite("Import: naming rules")
struct ImportNamingTests {
    @Test("--name names the one entry, normalized")
    func explicitName() throws {
        try withStore { store, tmp in
            let (_, image) = try singleImageLayout(tmp)
            let result = try importLayout(store, tmp + "/layout", .init(name: "demo/busybox:1.35"))
            #expect(result.images.map(\.name) == ["docker.io/demo/busybox:1.35"])
            #expect(try boundNames(store) == ["docker.io/demo/busybox:1.35"])
            let record = try #require(try store.images.image(named: "docker.io/demo/busybox:1.35"))
            #expect(record.target.digest == image.manifest.digest)
            #expect(record.target.size == image.manifest.size)
            #expect(result.copiedBlobs == image.blobs.count)
        }
    }

    @Test("--name with several entries is refused and names nothing")
    func explicitNameNeedsOneEntry() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let a = try layout.addImage()
            let b = try layout.addImage()
            try layout.writeIndex([ImageBuilder.entry(a.manifest, refName: "a"), ImageBuilder.entry(b.manifest, refName: "b")])
            let error = #expect(throws: ImagesError.self) { try importLayout(store, layout.path, .init(name: "demo/x:1")) }
            #expect(error?.code == .ambiguous)
            #expect(error?.message.contains("--ref") == true)
            #expect(try boundNames(store).isEmpty)

            // --ref selects one entry, then --name applies.
            try importLayout(store, layout.path, .init(name: "demo/x:1", refName: "b"))
            #expect(try store.images.image(named: "docker.io/demo/x:1")?.target.digest == b.manifest.digest)
        }
    }

    @Test("--ref that selects nothing is refused, listing what there is")
    func refSelectsNothing() throws {
        try withStore { store, tmp in
            _ = try singleImageLayout(tmp, refName: "present")
            let error = #expect(throws: ImagesError.self) { try importLayout(store, tmp + "/layout", .init(refName: "absent")) }
            #expect(error?.code == .ambiguous)
            #expect(error?.message.contains("present") == true)
            #expect(try boundNames(store).isEmpty)
        }
    }

    @Test("an invalid --name is an invalid argument")
    func invalidName() throws {
        try withStore { store, tmp in
            _ = try singleImageLayout(tmp)
            let error = #expect(throws: ImagesError.self) { try importLayout(store, tmp + "/layout", .init(name: "Demo/X")) }
            #expect(error?.code == .invalidArgument)
            #expect(try boundNames(store).isEmpty)
        }
    }

    @Test(
        "without --name: io.containerd.image.name, else a full-reference ref name, else REPO:tag",
        arguments: [
            // (imageName annotation, ref name annotation, --repo, expected name)
            ("docker.io/library/busybox:1.35", "ignored", nil, "docker.io/library/busybox:1.35"),
            ("busybox:1.35", nil, nil, "docker.io/library/busybox:1.35"),
            ("Not A Reference", "2.0", "demo/app", "docker.io/demo/app:2.0"),
            (nil, "localhost:5000/x/y:2", nil, "localhost:5000/x/y:2"),
            (nil, "ghcr.io/org/app:v1", "ignored/repo", "ghcr.io/org/app:v1"),
            (nil, "1.0", "demo/app", "docker.io/demo/app:1.0"),
            (nil, "1.0", "localhost:5000/team/app", "localhost:5000/team/app:1.0"),
            (nil, "1.0", nil, "docker.io/library/busybox-layout:1.0"),
            // With --repo, a ref name naming no registry host stays under the repository.
            (nil, "release/2.0", "demo/app", "docker.io/demo/app/release/2.0:latest"),
            (nil, "library/alpine", "demo/app", "docker.io/demo/app/library/alpine:latest"),
            (nil, "alpine:3", "demo/app", "docker.io/demo/app/alpine:3"),
            (nil, "localhost:5000/x/y:2", "demo/app", "localhost:5000/x/y:2"),
            (nil, "release/2.0", nil, "docker.io/release/2.0:latest"),
        ] as [(String?, String?, String?, String)])
    func derivedNames(imageName: String?, refName: String?, repository: String?, expected: String) throws {
        try withStore { store, tmp in
            _ = try singleImageLayout(tmp, name: "busybox-layout", refName: refName, imageName: imageName)
            let result = try importLayout(store, tmp + "/busybox-layout", .init(repository: repository))
            #expect(result.images.map(\.name) == [expected])
            #expect(try boundNames(store) == [expected])
        }
    }

    @Test("without --repo, a ref name that names an image outside the source's repository is flagged, and so is moving a name")
    func outsideNames() throws {
        try withStore { store, tmp in
            let first = try ImageBuilder(path: tmp + "/first")
            let firstImage = try first.addImage(platform: amd64, layers: [[1, 2, 3]])
            try first.writeIndex([ImageBuilder.entry(firstImage.manifest, refName: "1.0")])
            try importLayout(store, tmp + "/first", .init(name: "library/alpine:latest"))
            let (_, second) = try singleImageLayout(tmp, name: "busybox-layout", refName: "library/alpine")
            let result = try importLayout(store, tmp + "/busybox-layout")
            let image = try #require(result.images.first)
            #expect(image.name == "docker.io/library/alpine:latest")
            #expect(image.outsideRefName == "library/alpine")
            #expect(image.movedFrom == firstImage.manifest.digest)
            #expect(image.target.digest == second.manifest.digest)
            // Inside the source's repository, or under --repo: nothing to flag.
            let (_, _) = try singleImageLayout(tmp, name: "alpine", refName: "alpine:3")
            #expect(try importLayout(store, tmp + "/alpine").images.first?.outsideRefName == nil)
            #expect(try importLayout(store, tmp + "/busybox-layout", .init(repository: "demo/app")).images.first?.outsideRefName == nil)
        }
    }

    @Test(
        "an entry left without a name says why: nothing given, or not a valid docker tag or name, and which",
        arguments: [
            // (imageName annotation, ref name annotation, --repo, expected parts of the reason)
            (nil, nil, "demo/app", ["the source gives it none"]),
            (nil, "v2.0+build.5", "demo/app", [#"its ref name "v2.0+build.5" is not a valid docker tag"#]),
            (nil, "Foo:Latest", "demo/app", [#"its ref name "Foo:Latest" is not a valid docker name"#, "lowercase"]),
            (nil, "x:" + String(repeating: "t", count: 129), nil, ["is not a valid docker name", "128 a tag may have"]),
            (
                "Not A Reference", "-bad", "demo/app",
                [#"io.containerd.image.name "Not A Reference" is not a valid docker name"#, #"ref name "-bad" is not a valid docker tag"#]
            ),
            (nil, "1.0", nil, [#"its ref name "1.0" is a bare tag"#, "--repo"]),
            (nil, "1.0", String(repeating: "r", count: 250), ["does not make a valid docker name with repository", "255 a name may have"]),
        ] as [(String?, String?, String?, [String])])
    func unnamedReasons(imageName: String?, refName: String?, repository: String?, parts: [String]) throws {
        var entry = Descriptor(mediaType: .ociManifest, digest: ImageBuilder.digest(of: Array("x".utf8)), size: 1)
        if let imageName { entry = entry.settingAnnotation(AnnotationKey.containerdImageName, to: imageName) }
        if let refName { entry = entry.settingAnnotation(AnnotationKey.refName, to: refName) }
        guard case .unnamed(let reason) = ImageNaming.outcome(for: entry, repository: repository) else {
            Issue.record("named: \(ImageNaming.outcome(for: entry, repository: repository))")
            return
        }
        for part in parts { #expect(reason.contains(part), "\(reason)") }
        #expect(ImageNaming.name(for: entry, repository: repository) == nil)
    }

    @Test("the directory's base name is made a valid repository")
    func repositoryFromDirectory() {
        #expect(ImageNaming.repository(fromDirectory: "/tmp/x/busybox-layout") == "busybox-layout")
        #expect(ImageNaming.repository(fromDirectory: "/tmp/x/My Layout/") == "my-layout")
        #expect(ImageNaming.repository(fromDirectory: "/tmp/x/_.-") == nil)
    }

    @Test("an entry with no usable name is kept by digest and reported, not bound")
    func unnamedEntry() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let named = try layout.addImage()
            let unnamed = try layout.addImage()
            try layout.writeIndex([ImageBuilder.entry(named.manifest, refName: "1"), unnamed.manifest])
            let result = try importLayout(store, layout.path, .init(repository: "demo/app"))
            #expect(result.images.map(\.name) == ["docker.io/demo/app:1", nil])
            #expect(result.images.map(\.unnamedReason) == [nil, "the source gives it none"])
            #expect(result.images[1].target.digest == unnamed.manifest.digest)
            #expect(try boundNames(store) == ["docker.io/demo/app:1"])
            // Its closure is in the store, so it can be used by digest.
            for blob in unnamed.blobs { #expect(store.content.contains(blob.digest)) }
            let resolved = try store.resolve(.digest(unnamed.manifest.digest))
            #expect(resolved.root.digest == unnamed.manifest.digest)
            #expect(resolved.name == nil)
        }
    }

    @Test("the stored target has the config's platform and no naming annotations; other annotations are kept")
    func storedTarget() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let image = try layout.addImage(platform: arm64)
            let entry = ImageBuilder.entry(image.manifest.settingPlatform(nil), refName: "1", imageName: "demo/app:1")
                .settingAnnotation("org.example.keep", to: "yes")
            try layout.writeIndex([entry])
            try importLayout(store, layout.path)
            let record = try #require(try store.images.image(named: "docker.io/demo/app:1"))
            #expect(record.target.platform?.description == "linux/arm64/v8")
            #expect(record.target.annotations == ["org.example.keep": "yes"])
        }
    }

    @Test("importing again copies nothing and moves nothing")
    func reimport() throws {
        try withStore { store, tmp in
            let (_, image) = try singleImageLayout(tmp)
            let first = try importLayout(store, tmp + "/layout", .init(name: "demo/a:1"))
            let second = try importLayout(store, tmp + "/layout", .init(name: "demo/a:1"))
            #expect(first.copiedBlobs == image.blobs.count)
            #expect(second.copiedBlobs == 0)
            #expect(second.skippedBlobs == image.blobs.count)
            #expect(second.copiedBytes == 0)
        }
    }

    @Test("an import removes stale ingests left by a killed import")
    func staleIngestCleaned() throws {
        try withStore { store, tmp in
            let stale = store.location.contentRoot + "/ingest/00112233aabbccdd"
            try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
            try writeFile(stale + "/data", [1, 2, 3])
            _ = try singleImageLayout(tmp)
            try importLayout(store, tmp + "/layout", .init(name: "demo/a:1"))
            #expect(!pathExists(stale))
            #expect(listing(store.location.contentRoot + "/ingest").isEmpty)
        }
    }

    @Test("two entries for one digest bind two names, copying the blobs once")
    func twoNamesOneDigest() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let image = try layout.addImage()
            try layout.writeIndex([ImageBuilder.entry(image.manifest, refName: "1.0"), ImageBuilder.entry(image.manifest, refName: "latest")])
            let result = try importLayout(store, layout.path, .init(repository: "demo/app"))
            #expect(try boundNames(store) == ["docker.io/demo/app:1.0", "docker.io/demo/app:latest"])
            #expect(result.copiedBlobs == image.blobs.count)
            #expect(result.skippedBlobs == image.blobs.count)
            #expect(Set(try store.images.images().map(\.target.digest)) == [image.manifest.digest])
        }
    }

    @Test("Docker schema 2 manifests and manifest lists import like OCI ones")
    func dockerMediaTypes() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let a = try layout.addImage(platform: amd64, mediaType: .dockerManifest)
            let b = try layout.addImage(platform: arm64, mediaType: .dockerManifest)
            let list = try layout.addIndex([a.manifest, b.manifest], mediaType: .dockerManifestList)
            try layout.writeIndex([ImageBuilder.entry(list, refName: "1"), ImageBuilder.entry(a.manifest, refName: "amd64")])
            let result = try importLayout(store, layout.path, .init(repository: "demo/docker"))
            #expect(result.copiedBlobs == a.blobs.count + b.blobs.count + 1)
            let listRecord = try #require(try store.images.image(named: "docker.io/demo/docker:1"))
            #expect(listRecord.target.mediaType == .dockerManifestList)
            let single = try #require(try store.images.image(named: "docker.io/demo/docker:amd64"))
            #expect(single.target.mediaType == .dockerManifest)
            #expect(single.target.platform?.description == "linux/amd64")
            try importLayout(store, layout.path, .init(name: "demo/docker:arm", refName: "1", platform: arm64))
            #expect(try store.images.image(named: "docker.io/demo/docker:arm")?.target.digest == b.manifest.digest)
        }
    }

}
