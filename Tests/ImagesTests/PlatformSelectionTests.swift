import ContentStore
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import TestSupport
import Testing

/// Reads and parses the index or manifest `descriptor` from `layout`, counting reads; a blob
/// the layout lacks is `.missingBlob`.
private func reader(_ layout: ImageBuilder, reads: Locked<[OCISpec.Digest]>) -> (Descriptor) throws(ImagesError) -> ManifestNode {
    { (descriptor) throws(ImagesError) -> ManifestNode in
        reads.withLock { $0.append(descriptor.digest) }
        guard let bytes = try? layout.read(descriptor.digest.blobPath) else {
            throw ImagesError(.missingBlob, "blob \(descriptor.digest) is missing")
        }
        return try ManifestNode(descriptor: descriptor, bytes: bytes)
    }
}

/// Reads a config's bytes from `layout`, nil when it lacks them.
private func configReader(_ layout: ImageBuilder) -> (Descriptor) -> [UInt8]? {
    { try? layout.read($0.digest.blobPath) }
}

/// An index as `ctr images import --index-name` writes it: its entries carry no `platform`,
/// so each image's platform is only in its config.
private func ctrStyleIndex(_ layout: ImageBuilder, _ images: [BuiltImage]) throws -> Descriptor {
    try layout.addIndex(images.map { $0.manifest.settingPlatform(nil) })
}

@Suite("PlatformSelection")
struct PlatformSelectionTests {
    @Test("an index whose entries declare no platform: each is judged by its config; reading stops at the match")
    func platformsFromConfigs() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let images = try [amd64, arm64, Platform(os: "linux", architecture: "s390x")].map { try layout.addImage(platform: $0) }
            let index = try ctrStyleIndex(layout, images)
            let reads = Locked<[OCISpec.Digest]>([])
            let selected = try PlatformSelection.select(
                Platform(os: "linux", architecture: "arm64"), from: index, readConfig: configReader(layout), read: reader(layout, reads: reads))
            #expect(selected.digest == images[1].manifest.digest)
            #expect(selected.platform == nil, "the entry as the index lists it")
            #expect(reads.current == [index.digest, images[0].manifest.digest, images[1].manifest.digest], "the s390x manifest is not read")

            let offered = PlatformSelection.offered(by: index, readConfig: configReader(layout), read: reader(layout, reads: Locked([])))
            #expect(offered.map(\.description) == ["linux/amd64", "linux/arm64/v8", "linux/s390x"])
        }
    }

    @Test("a platform such an index lacks is .noPlatform listing the platforms its configs declare")
    func noPlatformListsConfigPlatforms() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let index = try ctrStyleIndex(layout, [try layout.addImage(platform: amd64), try layout.addImage(platform: arm64)])
            let error = #expect(throws: ImagesError.self) {
                try PlatformSelection.select(
                    Platform(os: "linux", architecture: "ppc64le"), from: index, readConfig: configReader(layout), read: reader(layout, reads: Locked([])))
            }
            #expect(error?.code == .noPlatform)
            #expect(error?.message.hasSuffix("it offers: linux/amd64, linux/arm64/v8") == true, "\(error?.message ?? "")")
        }
    }

    @Test("an entry whose config the source lacks offers nothing; the others still match")
    func configMissing() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let images = [try layout.addImage(platform: amd64), try layout.addImage(platform: arm64)]
            let index = try ctrStyleIndex(layout, images)
            try layout.removeBlob(images[0].config.digest)
            let selected = try PlatformSelection.select(arm64, from: index, readConfig: configReader(layout), read: reader(layout, reads: Locked([])))
            #expect(selected.digest == images[1].manifest.digest)
            let offered = PlatformSelection.offered(by: index, readConfig: configReader(layout), read: reader(layout, reads: Locked([])))
            #expect(offered == [arm64])
        }
    }

    @Test("nested indexes are searched depth-first, declared and config platforms alike")
    func nested() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let ctr = [try layout.addImage(platform: amd64), try layout.addImage(platform: arm64)]
            let inner = try layout.addIndex([try ctrStyleIndex(layout, ctr)])
            let declared = try layout.addImage(platform: Platform(os: "linux", architecture: "riscv64"))
            let outer = try layout.addIndex([inner, declared.manifest])
            let read = reader(layout, reads: Locked([]))
            #expect(try PlatformSelection.select(arm64, from: outer, readConfig: configReader(layout), read: read).digest == ctr[1].manifest.digest)
            #expect(
                try PlatformSelection.select(Platform(os: "linux", architecture: "riscv64"), from: outer, readConfig: configReader(layout), read: read).digest
                    == declared.manifest.digest)
            #expect(
                PlatformSelection.offered(by: outer, readConfig: configReader(layout), read: read).map(\.description)
                    == ["linux/amd64", "linux/arm64/v8", "linux/riscv64"])
        }
    }

    @Test("a broken nested index is an error, not a platform less, even when a later entry matches", arguments: ["missing", "corrupt"])
    func brokenNestedIndex(_ damage: String) throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let nested = try layout.addMultiPlatformImage(platforms: [amd64], attestations: false)
            let later = try layout.addImage(platform: arm64)
            let outer = try layout.addIndex([nested.index, later.manifest])
            if damage == "missing" { try layout.removeBlob(nested.index.digest) } else { try layout.corruptBlob(nested.index.digest) }
            let error = #expect(throws: ImagesError.self) {
                try PlatformSelection.select(arm64, from: outer, readConfig: configReader(layout), read: reader(layout, reads: Locked([])))
            }
            #expect(error?.code == (damage == "missing" ? .missingBlob : .corruptBlob))
            #expect(error?.message.contains(nested.index.digest.description) == true, "\(error?.message ?? "")")
        }
    }

    @Test("the registry's selector (reads that suspend) resolves and refuses as the store's does")
    func suspendingReads() async throws {
        try await withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let ctr = [try layout.addImage(platform: amd64), try layout.addImage(platform: arm64)]
            let outer = try layout.addIndex([try layout.addIndex([try ctrStyleIndex(layout, ctr)])])
            let read = reader(layout, reads: Locked([]))
            let readConfig = configReader(layout)
            let selected = try await PlatformSelection.select(
                arm64, from: outer, named: "registry.test/team/app",
                readConfig: {
                    await Task.yield()
                    return readConfig($0)
                },
                read: {
                    await Task.yield()
                    return try read($0)
                })
            #expect(selected.digest == ctr[1].manifest.digest)

            await #expect {
                try await PlatformSelection.select(
                    Platform(os: "linux", architecture: "s390x"), from: outer, named: "registry.test/team/app", readConfig: { readConfig($0) },
                    read: { try read($0) })
            } throws: { error in
                guard let error = error as? ImagesError else { return false }
                return error.code == .noPlatform
                    && error.message == "registry.test/team/app has no manifest for linux/s390x; it offers: linux/amd64, linux/arm64/v8"
            }
            try layout.removeBlob(ctr[0].manifest.digest)
            await #expect {
                try await PlatformSelection.select(arm64, from: outer, named: "registry.test/team/app", readConfig: { readConfig($0) }, read: { try read($0) })
            } throws: { ($0 as? ImagesError)?.code == .missingBlob }
        }
    }

    @Test("indexes nested deeper than the closure walk's limit are refused, not searched past")
    func nesting() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let image = try layout.addImage(platform: arm64)
            var root = image.manifest
            for _ in 0..<ClosureWalker.maximumDepth { root = try layout.addIndex([root]) }
            let error = #expect(throws: ImagesError.self) {
                try PlatformSelection.select(arm64, from: root, readConfig: configReader(layout), read: reader(layout, reads: Locked([])))
            }
            #expect(error?.code == .invalidLayout)
        }
    }
}

@Suite("PlatformSearch")
struct PlatformSearchTests {
    @Test("asks for the index, then each platformless manifest and its config, until one matches")
    func steps() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let images = [try layout.addImage(platform: amd64), try layout.addImage(platform: arm64)]
            let index = try ctrStyleIndex(layout, images)
            let read = reader(layout, reads: Locked([]))
            var search = PlatformSearch(for: arm64, in: index)
            #expect(search.step == .readNode(index))
            try search.received(try read(index))
            #expect(search.step == .readNode(images[0].manifest.settingPlatform(nil)))
            try search.received(try read(images[0].manifest))
            #expect(search.step == .readConfig(images[0].config))
            try search.received(config: try layout.read(images[0].config.digest.blobPath))
            #expect(search.step == .readNode(images[1].manifest.settingPlatform(nil)))
            try search.received(try read(images[1].manifest))
            #expect(search.step == .readConfig(images[1].config))
            try search.received(config: nil)
            #expect(search.step == .exhausted, "a config not there offers nothing")
            #expect(search.offered == [amd64])
        }
    }

    @Test("entries that declare a platform are decided without a read; attestations are passed over")
    func declaredPlatforms() throws {
        try withTemporaryDirectory { tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage(platforms: [amd64, arm64], attestations: true)
            var search = PlatformSearch(for: Platform(os: "unknown", architecture: "unknown"), in: built.index)
            try search.received(try reader(layout, reads: Locked([]))(built.index))
            #expect(search.step == .exhausted)
            #expect(search.offered == [amd64, arm64])
        }
    }
}
