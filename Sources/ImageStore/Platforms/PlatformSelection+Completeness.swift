import OCISpec

extension PlatformSelection {
    /// Which platforms of an index are complete in a source and which are not: a one-platform
    /// export of a multi-platform image (`ctr images export --platform`, `docker save
    /// --platform`) keeps the whole index but only one platform's blobs.
    /// - Parameters:
    ///   - root: an index descriptor.
    ///   - read: reads and parses an index or manifest blob (throws `.missingBlob` when absent).
    ///   - readBlob, has: as `ClosureWalker` takes them (nil / false when the source lacks it).
    /// - Returns: the platforms `offered(by:)` lists, split by whether their closure is all there.
    package static func completeness(
        of root: Descriptor, readConfig: (Descriptor) -> [UInt8]?, read: (Descriptor) throws(ImagesError) -> ManifestNode,
        readBlob: @escaping ClosureWalker.ReadBlob, has: @escaping ClosureWalker.HasBlob
    ) -> (complete: [Platform], incomplete: [Platform]) {
        var complete: [Platform] = []
        var incomplete: [Platform] = []
        for platform in offered(by: root, readConfig: readConfig, read: read) {
            var walker = ClosureWalker(imageName: root.digest.description, read: readBlob, has: has)
            if let manifest = try? select(platform, from: root, readConfig: readConfig, read: read), (try? walker.walk(manifest)) != nil {
                complete.append(platform)
            } else {
                incomplete.append(platform)
            }
        }
        return (complete, incomplete)
    }
}
