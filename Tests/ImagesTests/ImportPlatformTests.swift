import ContentStore
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import TestSupport
import Testing

@Suite("Import: multi-platform indexes")
struct ImportPlatformTests {
    @Test("--platform imports one platform of a sparse layout, re-rooted at its manifest")
    func sparseLayout() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage(platforms: [amd64, arm64], attestations: true)
            try layout.writeIndex([ImageBuilder.entry(built.index, refName: "1.0")])
            // As `ctr export --platform linux/amd64` leaves it: only the index and amd64's blobs.
            let absent = built.images[1].blobs + built.attestations.flatMap(\.blobs)
            for blob in absent { try layout.removeBlob(blob.digest) }

            let result = try importLayout(store, layout.path, .init(repository: "demo/multi", platform: Platform(parsing: "linux/x86_64")))
            #expect(result.images.count == 1)
            let record = try #require(try store.images.image(named: "docker.io/demo/multi:1.0"))
            #expect(record.target.digest == built.images[0].manifest.digest)
            #expect(record.target.mediaType == .ociManifest)
            #expect(record.target.platform?.description == "linux/amd64")
            for blob in built.images[0].blobs { #expect(store.content.contains(blob.digest)) }
            for blob in absent { #expect(!store.content.contains(blob.digest)) }
        }
    }

    @Test("without --platform the same sparse layout is refused, naming a missing digest")
    func sparseLayoutWithoutPlatform() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage(platforms: [amd64, arm64], attestations: false)
            try layout.writeIndex([ImageBuilder.entry(built.index, refName: "1.0")])
            let absent = built.images[1].blobs
            for blob in absent { try layout.removeBlob(blob.digest) }
            let error = #expect(throws: ImagesError.self) { try importLayout(store, layout.path, .init(repository: "demo/multi")) }
            #expect(error?.code == .missingBlob)
            #expect(error?.message.contains(built.images[1].manifest.digest.description) == true)
            #expect(try boundNames(store).isEmpty)
        }
    }

    @Test("the whole index is imported without --platform, attestation manifests included")
    func wholeIndex() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage(platforms: [amd64, arm64], attestations: true)
            try layout.writeIndex([ImageBuilder.entry(built.index, refName: "1.0")])
            let result = try importLayout(store, layout.path, .init(repository: "demo/multi"))
            #expect(result.copiedBlobs == built.blobs.count)
            let record = try #require(try store.images.image(named: "docker.io/demo/multi:1.0"))
            #expect(record.target.digest == built.index.digest)
            #expect(record.target.mediaType == .ociIndex)
            #expect(record.target.platform == nil)
            for blob in built.blobs { #expect(store.content.contains(blob.digest)) }
        }
    }

    @Test("aarch64 selects the arm64/v8 manifest; an attestation never matches")
    func selection() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage(platforms: [amd64, arm64], attestations: true)
            try layout.writeIndex([ImageBuilder.entry(built.index, refName: "1.0")])
            try importLayout(store, layout.path, .init(repository: "demo/multi", platform: Platform(parsing: "linux/aarch64")))
            #expect(try store.images.image(named: "docker.io/demo/multi:1.0")?.target.digest == built.images[1].manifest.digest)

            let error = #expect(throws: ImagesError.self) {
                try importLayout(store, layout.path, .init(name: "demo/other:1", platform: Platform(parsing: "unknown/unknown")))
            }
            #expect(error?.code == .noPlatform)
        }
    }

    @Test("a platform the index lacks is refused, listing what it offers")
    func noPlatform() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage(platforms: [amd64, arm64], attestations: true)
            try layout.writeIndex([ImageBuilder.entry(built.index, refName: "1.0")])
            let error = #expect(throws: ImagesError.self) {
                try importLayout(store, layout.path, .init(repository: "demo/multi", platform: Platform(parsing: "linux/s390x")))
            }
            #expect(error?.code == .noPlatform)
            #expect(error?.message.contains("linux/amd64") == true)
            #expect(error?.message.contains("linux/arm64/v8") == true)
            #expect(error?.message.contains("unknown") == false)
            #expect(try boundNames(store).isEmpty)
        }
    }

    @Test("a nested index is searched for the platform")
    func nestedIndex() throws {
        try withStore { store, tmp in
            let layout = try ImageBuilder(path: tmp + "/layout")
            let built = try layout.addMultiPlatformImage(platforms: [amd64, arm64], attestations: false)
            let outer = try layout.addIndex([built.index])
            try layout.writeIndex([ImageBuilder.entry(outer, refName: "1.0")])
            try importLayout(store, layout.path, .init(repository: "demo/multi", platform: arm64))
            #expect(try store.images.image(named: "docker.io/demo/multi:1.0")?.target.digest == built.images[1].manifest.digest)
        }
    }
}
