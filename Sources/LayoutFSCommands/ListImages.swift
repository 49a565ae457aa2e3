import ArgumentParser
import ContentStore
import Foundation
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec

/// `layoutfs images`: the named images with digest, size and platforms.
struct ListImages: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images", abstract: "List images in the store, in containerd (--containerd) or in a content directory (--content).")

    @OptionGroup var store: StoreOptions
    @Argument(
        help: ArgumentHelp(
            "Only images of this repository (alpine, ghcr.io/o/app; * and ? match as in a shell: 'deb/*'), or this one name with :TAG.",
            valueName: "repository[:tag]"))
    var filter: String?
    @Flag(name: .shortAndLong, help: "Print digests only, each once (short unless --no-trunc), as docker images -q.") var quiet = false
    @Flag(name: .customLong("no-trunc"), help: "Show full digests.") var noTruncate = false
    @Flag(help: "Print JSON (name, digest, mediaType, size and lazy bytes, platforms, created, updated).") var json = false
    @Option(
        help: ArgumentHelp(
            "List the images of this containerd or BuildKit content directory instead (by digest: their names live in the builder's own database).",
            valueName: "dir"), completion: .directory)
    var content: String?
    @OptionGroup var containerd: ContainerdOptions

    func validate() throws {
        if quiet && json { throw ValidationError("--quiet prints digests only; it cannot be combined with --json") }
        if filter != nil && content != nil {
            throw ValidationError("images in a content directory have no names to filter by: list them all with --content, then pick by digest")
        }
        if let filter { _ = try ImageFilter(filter) }
    }

    func run() async throws {
        var store = try store.openStore()
        (store, _) = try await containerd.apply(to: store, content: content)
        if let content {
            store = try store.readingAlso(contentDirectory: content)
            let images = store.contentDirectoryImages()
            if quiet { return Self.printDigests(images.map(\.root.digest), full: noTruncate) }
            if json {
                try Self.printJSON(
                    images.map { image in
                        let totals = Self.totals(of: image.root, in: store)
                        return [
                            "digest": image.root.digest.description, "mediaType": image.root.mediaType.rawValue,
                            "size": totals.map { $0.bytes as Any } ?? NSNull(), "platforms": Self.platforms(of: image.root, in: store),
                        ]
                    })
                return
            }
            var rows = [["DIGEST", "TYPE", "SIZE", "PLATFORMS"]]
            for image in images {
                let (size, platforms) = summary(of: image.root, in: store)
                rows.append([image.root.digest.description, image.root.mediaType.isIndex ? "index" : "manifest", size, platforms])
            }
            Self.printTable(rows)
            return
        }
        var images = try store.allImages()
        if let filter { images = try ImageFilter(filter).selecting(images, name: \.name) }
        if quiet { return Self.printDigests(images.map(\.target.digest), full: noTruncate) }
        if json {
            let objects: [[String: Any]] = images.map { image in
                let totals = Self.totals(of: image.target, in: store)
                return [
                    "name": image.name, "digest": image.target.digest.description, "mediaType": image.target.mediaType.rawValue,
                    "size": totals.map { $0.bytes as Any } ?? NSNull(), "lazyBytes": totals.map { $0.lazy as Any } ?? NSNull(),
                    "platforms": Self.platforms(of: image.target, in: store),
                    "created": Int64(image.created.timeIntervalSince1970), "updated": Int64(image.updated.timeIntervalSince1970),
                ]
            }
            try Self.printJSON(objects)
            return
        }
        var rows = [["NAME", "DIGEST", "SIZE", "PLATFORMS"]]
        for image in images {
            let (size, platforms) = summary(of: image.target, in: store)
            rows.append([image.name, noTruncate ? image.target.digest.description : image.target.digest.short, size, platforms])
        }
        Self.printTable(rows)
    }

    /// One digest a line, each once, in the order given (`sha256:` and 12 hex digits unless `full`).
    static func printDigests(_ digests: [Digest], full: Bool) {
        var seen = Set<Digest>()
        for digest in digests where seen.insert(digest).inserted { print(full ? digest.description : digest.short) }
    }

    /// Pretty JSON with sorted keys (`[]` when empty).
    static func printJSON(_ objects: [[String: Any]]) throws {
        guard !objects.isEmpty else { return print("[]") }
        let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Columns padded to their widest cell, the last one left as it is.
    static func printTable(_ rows: [[String]]) {
        let columns = rows.first?.count ?? 0
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(
                row.enumerated().map { i, cell in i == columns - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(
                    separator: "  "))
        }
    }

    /// Total bytes of the closure (each blob once) and the platforms it offers.
    private func summary(of root: Descriptor, in store: Store) -> (String, String) {
        guard let totals = Self.totals(of: root, in: store) else { return ("?", "incomplete") }
        let platforms = Self.platforms(of: root, in: store)
        let size = ByteFormat.string(totals.bytes) + (totals.lazy > 0 ? " (\(ByteFormat.string(totals.lazy)) lazy)" : "")
        return (size, platforms.isEmpty ? "-" : platforms.joined(separator: ","))
    }

    /// Bytes of the closure, and of its blobs not local yet; nil when it cannot be walked.
    static func totals(of root: Descriptor, in store: Store) -> (bytes: Int64, lazy: Int64)? {
        guard let walker = try? store.closure(of: root, imageName: root.digest.description) else { return nil }
        let bytes = walker.blobs.reduce(Int64(0)) { $0 + $1.size }
        let lazy = walker.blobs.filter { !store.hasBlob($0.digest) }.reduce(Int64(0)) { $0 + $1.size }
        return (bytes, lazy)
    }

    /// The platforms an image offers, each once: those `--platform` can select
    /// (`PlatformSelection.offered`: nested indexes too, attestations left out).
    static func platforms(of root: Descriptor, in store: Store) -> [String] {
        PlatformSelection.offered(by: root, readConfig: { try? store.readBlob($0.digest) }, read: { (d) throws(ImagesError) in try store.readRoot(d) })
            .map(\.description)
    }
}
