import ContentStore
import Foundation
import OCISpec
import TestSupport
import Testing

@Suite("meta.db: lazy blobs and their sources")
struct LazyBlobIndexTests {
    @Test("a recorded blob keeps its exact descriptor; sources accumulate without duplicates; unknown blobs are nil")
    func recordAndLookUp() throws {
        try withTemporaryDirectory { path in
            let store = try SQLiteImageStore(path: path + "/meta.db")
            let layer = Descriptor(mediaType: .ociLayerGzip, digest: ImageBuilder.digest(of: Array("layer".utf8)), size: 5)
                .settingAnnotation("org.example.keep", to: "yes")
            let first = BlobSource(domain: "127.0.0.1:5000", repository: "team/app")
            let second = BlobSource(domain: "registry.example", repository: "mirror/app")
            try store.recordLazy([layer], source: first)
            try store.recordLazy([layer], source: first)
            try store.recordLazy([layer], source: second)
            let found = try #require(try store.lazyBlob(layer.digest))
            #expect(found.descriptor == layer)
            #expect(found.sources == [first, second])
            #expect(try store.lazyBlob(ImageBuilder.digest(of: Array("other".utf8))) == nil)
            // Survives reopening (the v2 migration ran once).
            let reopened = try SQLiteImageStore(path: path + "/meta.db")
            #expect(try reopened.lazyBlob(layer.digest)?.sources.count == 2)
        }
    }
}
