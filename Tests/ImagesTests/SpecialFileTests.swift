import ContentStore
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

/// Special files where a layout has regular files: a named pipe must be refused, never opened
/// in a way that waits for a writer (which would hang the command for ever).
@Suite("Named pipes in layouts", .timeLimit(.minutes(1)))
struct SpecialFileTests {
    @Test("a source index.json that is a named pipe is refused")
    func sourceIndexPipe() throws {
        try withStore { store, tmp in
            let (layout, _) = try singleImageLayout(tmp)
            unlink(layout.path + "/index.json")
            #expect(mkfifo(layout.path + "/index.json", 0o644) == 0)
            let error = #expect(throws: ImagesError.self) { try importLayout(store, layout.path, .init(name: "demo/a:1")) }
            #expect(error?.code == .invalidLayout)
            #expect(error?.message.contains("regular file") == true)
            #expect(try boundNames(store).isEmpty)
        }
    }

    @Test("a source manifest blob that is a named pipe is refused, naming the digest")
    func sourceManifestPipe() throws {
        try withStore { store, tmp in
            let (layout, image) = try singleImageLayout(tmp)
            try layout.removeBlob(image.manifest.digest)
            #expect(mkfifo(layout.blobPath(image.manifest.digest), 0o644) == 0)
            let error = #expect(throws: ImagesError.self) { try importLayout(store, layout.path, .init(name: "demo/a:1")) }
            #expect(error?.message.contains(image.manifest.digest.description) == true)
            #expect(try boundNames(store).isEmpty)
        }
    }

    @Test("a source layer that is a named pipe is not a blob")
    func sourceLayerPipe() throws {
        try withStore { store, tmp in
            let (layout, image) = try singleImageLayout(tmp)
            try layout.removeBlob(image.layers[0].digest)
            #expect(mkfifo(layout.blobPath(image.layers[0].digest), 0o644) == 0)
            let error = #expect(throws: ImagesError.self) { try importLayout(store, layout.path, .init(name: "demo/a:1")) }
            #expect(error?.code == .missingBlob)
            #expect(try boundNames(store).isEmpty)
        }
    }

    @Test("a destination index.json that is a named pipe is refused and left as it is")
    func destinationIndexPipe() throws {
        try withStore { store, tmp in
            _ = try singleImageLayout(tmp, imageName: "docker.io/demo/a:1")
            try importLayout(store, tmp + "/layout")
            let plan = try LayoutPlan(store: store, images: [store.resolve(.name(ImageReference(parsing: "demo/a:1")))], platform: nil)
            let out = tmp + "/out"
            try ImageBuilder(path: out).write([], to: "oci-layout")
            #expect(mkfifo(out + "/index.json", 0o644) == 0)
            let error = #expect(throws: ImagesError.self) { try Materializer(store: store).materialize(plan, into: out) }
            #expect(error?.code == .invalidLayout)
            var st = stat()
            #expect(lstat(out + "/index.json", &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
        }
    }
}
