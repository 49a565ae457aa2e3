import ContentStore
import ImagePull
import ImageStore
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// `export --materialize` (DESIGN.md): makes a real OCI layout directory hold a plan's images,
/// copying only the blobs it lacks, children before parents, then merging `index.json` last.
package struct Materializer {
    package struct Options: Sendable {
        /// Re-hash blobs already present (same size) and replace those that do not match.
        package var verifyExisting: Bool
        package init(verifyExisting: Bool = false) { self.verifyExisting = verifyExisting }
    }

    /// What a run did, for the summary line.
    package struct Summary: Sendable, Equatable {
        package init() {}

        package var copiedBlobs = 0
        package var copiedBytes: Int64 = 0
        package var skippedBlobs = 0
        package var fetchedBlobs = 0
        /// Blobs present with the wrong size or content, replaced.
        package var replacedBlobs = 0
        /// True when `index.json` was written (false when unchanged).
        package var indexWritten = false
        /// Things the user should know (e.g. entries of the merged index that share a ref name).
        package var warnings: [String] = []

    }

    private let store: Store

    package init(store: Store) { self.store = store }

    /// Materializes `plan` into the directory at `path` (created when missing).
    /// - Parameter progress: called after each blob with (blobs done, blobs total).
    /// - Throws: `.unsafeDestination` (a symlink inside the destination), `.noSpace` (index.json
    ///   untouched), `.missingBlob`, `.corruptBlob`, `.invalidLayout` when the existing
    ///   `index.json` cannot be parsed (it is left as it is), `.io`.
    package func materialize(_ plan: LayoutPlan, into path: String, options: Options = Options(), progress: (Int, Int) -> Void = { _, _ in })
        throws(ImagesError) -> Summary
    {
        var summary = Summary()
        let root = try DestinationDirectory.openRoot(path)
        // Fail before copying anything when the existing index.json (or manifest.json) cannot be merged.
        _ = try existingIndex(in: root)
        if plan.dockerManifestEntries != nil { _ = try existingDockerManifest(in: root) }
        let blobsDirectory = try root.subdirectory("blobs")
        var algorithmDirectories: [Digest.Algorithm: DestinationDirectory] = [:]
        for (done, descriptor) in plan.blobs.enumerated() {
            let algorithm = descriptor.digest.algorithm
            if algorithmDirectories[algorithm] == nil {
                algorithmDirectories[algorithm] = try blobsDirectory.subdirectory(algorithm.rawValue)
            }
            let directory = algorithmDirectories[algorithm]!
            let existing = try existingState(of: descriptor, in: directory, verify: options.verifyExisting)
            if existing == .good {
                summary.skippedBlobs += 1
            } else {
                let source: BlobFile
                do {
                    source = try store.openBlob(descriptor.digest)
                } catch {
                    throw ImagesError(error, "cannot copy blob \(descriptor.digest)")
                }
                try BlobCopier.copy(source, descriptor: descriptor, into: directory, replace: existing == .wrong)
                summary.copiedBlobs += 1
                summary.copiedBytes += descriptor.size
                if existing == .wrong { summary.replacedBlobs += 1 }
            }
            progress(done + 1, plan.blobs.count)
        }
        for directory in algorithmDirectories.values { directory.sync() }
        blobsDirectory.sync()
        if try root.readFile(ImageLayout.layoutFileName, limit: 4096) != ImageLayout.layoutFileContents {
            try root.replaceFile(ImageLayout.layoutFileName, contents: ImageLayout.layoutFileContents)
        }
        let merged: ImageIndex
        (summary.indexWritten, merged, summary.warnings) = try mergeIndex(plan.entries, dockerManifest: plan.dockerManifestEntries, in: root)
        summary.warnings += Self.sharedRefNames(in: merged)
        if plan.dockerManifestEntries == nil, (try? root.readFile(DockerLoadManifest.fileName, limit: ImageLayout.maximumManifestSize)) ?? nil != nil {
            summary.warnings.append(
                "\(path)/\(DockerLoadManifest.fileName) (what docker load reads) was left as it was and does not list these images: add --format docker to update it"
            )
        }
        return summary
    }

    private enum ExistingState { case absent, good, wrong }

    private func existingState(of descriptor: Descriptor, in directory: DestinationDirectory, verify: Bool) throws(ImagesError) -> ExistingState {
        let fd = directory.openFile(descriptor.digest.encoded, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT { return .absent }
            if errno == ELOOP || errno == EXDEV { return .wrong }  // a symlink: replaced, never followed
            throw ImagesError(.io, "cannot open \(directory.path)/\(descriptor.digest.encoded): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        fstat(fd, &st)
        let file = BlobFile(fileDescriptor: fd, size: Int64(st.st_size))
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw ImagesError(.unsafeDestination, "\(directory.path)/\(descriptor.digest.encoded) is not a regular file")
        }
        guard file.size == descriptor.size else { return .wrong }
        guard verify else { return .good }
        var hasher = DigestHasher(descriptor.digest.algorithm)
        var offset: Int64 = 0
        while offset < file.size {
            let bytes: [UInt8]
            do {
                bytes = try file.read(offset: offset, byteCount: 1 << 20)
            } catch {
                return .wrong
            }
            if bytes.isEmpty { return .wrong }
            hasher.update(bytes)
            offset += Int64(bytes.count)
        }
        return hasher.finalize() == descriptor.digest ? .good : .wrong
    }

    /// The destination's manifest.json (`--format docker`), nil when absent.
    /// - Throws: `.invalidLayout` when it is larger than 4 MiB or not a JSON array (it is left as it is).
    private func existingDockerManifest(in root: DestinationDirectory) throws(ImagesError) -> [UInt8]? {
        let name = DockerLoadManifest.fileName
        guard let bytes = try root.readFile(name, limit: ImageLayout.maximumManifestSize) else { return nil }
        let items: [JSONValue]?
        let problem: String
        do throws(OCISpecError) {
            items = try JSONParser.parse(bytes).arrayValue
            problem = ""
        } catch {
            items = nil
            problem = " (\(error.message))"
        }
        guard let items else {
            throw ImagesError(.invalidLayout, "\(root.path)/\(name) exists but is not a JSON array of images\(problem); it was left as it is: fix or remove it")
        }
        do {
            try DockerLoadManifest.checkFieldNames(items, in: "\(root.path)/\(name)")
        } catch {
            throw ImagesError(.invalidLayout, "\(error.message); it was left as it is: fix or remove it", underlying: error)
        }
        return bytes
    }

    /// The destination's index.json, nil when absent, and warnings about it (the empty forms,
    /// a wrong `mediaType`: `IndexMerge.existingIndex`).
    /// - Throws: `.invalidLayout` when it is there but not a valid index (it is left as it is).
    private func existingIndex(in root: DestinationDirectory) throws(ImagesError) -> (index: ImageIndex, warnings: [String])? {
        guard let bytes = try root.readFile(ImageLayout.indexFileName, limit: ImageLayout.maximumManifestSize) else { return nil }
        do {
            return try IndexMerge.existingIndex(bytes, path: "\(root.path)/\(ImageLayout.indexFileName)")
        } catch {
            throw ImagesError(
                .invalidLayout, "\(root.path)/index.json exists but is not a valid index (\(error.message)); it was left as it is: fix or remove it",
                underlying: error)
        }
    }

    /// Entries that share a ref name under different image names: readers such as skopeo take
    /// the first, so the user should hear of it.
    static func sharedRefNames(in index: ImageIndex) -> [String] {
        var firstName: [String: String] = [:]
        var warnings: [String] = []
        for entry in index.manifests {
            guard let refName = entry.annotations[AnnotationKey.refName] else { continue }
            let name = entry.annotations[AnnotationKey.containerdImageName] ?? entry.digest.description
            if let first = firstName[refName] {
                if first != name {
                    warnings.append("index.json entries \(first) and \(name) share the ref name \"\(refName)\": readers such as skopeo take the first")
                }
            } else {
                firstName[refName] = name
            }
        }
        return warnings
    }

    /// Merges under the index lock; returns whether index.json was written, the result, and
    /// warnings about the index.json found there.
    /// `manifest.json` (`--format docker`) is merged under the same lock, before index.json.
    private func mergeIndex(_ entries: [Descriptor], dockerManifest: [JSONValue]?, in root: DestinationDirectory) throws(ImagesError)
        -> (Bool, ImageIndex, [String])
    {
        let lock = try IndexLock(in: root)
        defer { lock.release() }
        if let dockerManifest {
            let existing = try existingDockerManifest(in: root)
            let merged = DockerLoadManifest.merge(dockerManifest, into: existing)
            if merged != existing { try root.replaceFile(DockerLoadManifest.fileName, contents: merged) }
        }
        let existing = try existingIndex(in: root)
        let merged = IndexMerge.merge(entries, into: existing?.index)
        let warnings = existing?.warnings ?? []
        if let existing, existing.index.json == merged.json { return (false, merged, warnings) }
        try root.replaceFile(ImageLayout.indexFileName, contents: merged.json.encoded)
        return (true, merged, warnings)
    }
}
