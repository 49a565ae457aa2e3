import ContentStore
import Foundation
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with a new store and a scratch directory (the store is at `<tmp>/store`).
func withStore<R>(_ body: (Store, String) throws -> R) throws -> R {
    try withTemporaryDirectory { tmp in
        let store = try Store.open(root: tmp + "/store")
        return try body(store, tmp)
    }
}

let amd64 = Platform(os: "linux", architecture: "amd64")
let arm64 = Platform(os: "linux", architecture: "arm64", variant: "v8")

/// Names bound in the store.
func boundNames(_ store: Store) throws -> [String] { try store.images.images().map(\.name) }

/// Imports with the given options.
@discardableResult
func importLayout(_ store: Store, _ path: String, _ options: LayoutImporter.Options = .init()) throws -> LayoutImporter.Result {
    try LayoutImporter(store: store).importLayout(at: path, options: options)
}

/// Names in a directory, sorted; empty when it does not exist.
func listing(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// A layout at `<tmp>/<name>` with one single-platform image and one index.json entry.
func singleImageLayout(_ tmp: String, name: String = "layout", refName: String? = "1.0", imageName: String? = nil) throws -> (ImageBuilder, BuiltImage) {
    let layout = try ImageBuilder(path: tmp + "/" + name)
    let image = try layout.addImage(platform: amd64)
    try layout.writeIndex([ImageBuilder.entry(image.manifest, refName: refName, imageName: imageName)])
    return (layout, image)
}
