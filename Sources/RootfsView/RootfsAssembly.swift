import ContentStore
import Dispatch
import LayerIndex
import LayoutFS
import OCISpec
import Synchronization

/// Builds the ``RootfsView`` of one image manifest: each layer's index loaded from the store or
/// built by one pass over the blob (``LayerIndexing``), layers in parallel (one per core), then
/// the layers applied in order (``RootfsBuilder``). Blocking: run it on a thread of its own.
package enum RootfsAssembly {
    /// What assembling did.
    package struct Report: Sendable, Equatable {
        /// Layers whose index was built by a pass over the blob, and read from the store.
        package var built = 0
        package var loaded = 0
        /// Layers whose diff_id did not match (their files fail), as sentences.
        package var failures: [String] = []
    }

    /// Indexes built and verified, for ``keep(_:files:)`` once the mount is ready.
    package struct Built: Sendable {
        fileprivate var records: [(record: LayerIndexRecord, copy: BlobFile?)]
        package var isEmpty: Bool { records.isEmpty }
    }

    /// Keeps built indexes in the store. Blocking (an fsync each).
    /// - Returns: what could not be kept, as log lines.
    package static func keep(_ built: Built, files: LayerIndexFiles) -> [String] {
        let indexing = LayerIndexing(files: files)
        return built.records.compactMap { indexing.keep($0.record, copy: $0.copy) }
    }

    /// Bytes of decompressed gzip spans a view keeps (about 30 spans of 1 MiB compressed).
    static let spanBudget = 64 << 20

    /// - Parameters:
    ///   - layers: the manifest's layers, in order.
    ///   - diffIDs: the config's `rootfs.diff_ids` (nil when it has none: no layer can be
    ///     verified, and every layer's files fail).
    ///   - provider: where the blobs' bytes come from (the mount's).
    ///   - deadline: longest wait for one piece of a blob.
    ///   - log: told what is worth a log line (an index rebuilt, one that cannot be kept).
    /// - Throws: `LayoutFSError` `.io` naming the layer when one cannot be read as a tar stream
    ///   or its blob cannot be opened; `.invalidArgument` when the config's diff_ids do not
    ///   match the layers in number.
    package static func build(
        layers: [Descriptor], diffIDs: [Digest]?, provider: any BlobProvider, files: LayerIndexFiles, deadline: Duration,
        log: @escaping @Sendable (String) -> Void
    ) throws(LayoutFSError) -> (view: RootfsView, report: Report, built: Built) {
        let cache = SpanCache(budget: spanBudget)
        let (generation, built) = try generation(
            layers: layers, diffIDs: diffIDs, provider: provider, files: files, cache: cache, deadline: deadline, log: log)
        return (RootfsView(generation, provider: provider, cache: cache), generation.report, built)
    }

    /// Shows another image in `view` (a followed name moved): its layers indexed as for
    /// ``build(layers:diffIDs:provider:files:deadline:log:)``, then ``RootfsView/show(_:)``.
    /// - Returns: the new generation's number, the names the root listed before, what was done.
    /// - Throws: as ``build(layers:diffIDs:provider:files:deadline:log:)``; the view is unchanged.
    package static func show(
        layers: [Descriptor], diffIDs: [Digest]?, in view: RootfsView, files: LayerIndexFiles, deadline: Duration,
        log: @escaping @Sendable (String) -> Void
    ) throws(LayoutFSError) -> (generation: UInt64, previousNames: [String], report: Report, built: Built) {
        let (generation, built) = try generation(
            layers: layers, diffIDs: diffIDs, provider: view.provider, files: files, cache: view.cache, deadline: deadline, log: log)
        let (number, previousNames) = view.show(generation)
        return (number, previousNames, generation.report, built)
    }

    private static func generation(
        layers: [Descriptor], diffIDs: [Digest]?, provider: any BlobProvider, files: LayerIndexFiles, cache: SpanCache, deadline: Duration,
        log: @escaping @Sendable (String) -> Void
    ) throws(LayoutFSError) -> (RootfsView.Generation, Built) {
        if let diffIDs, diffIDs.count != layers.count {
            throw LayoutFSError(.invalidArgument, "the image config names \(diffIDs.count) diff_ids for \(layers.count) layers")
        }
        let indexing = LayerIndexing(files: files)
        let outcomes = Mutex<[Int: Result<(LayerIndexRecord, LayerIndexing.Outcome, BlobBytes, BlobFile?), LayoutFSError>]>([:])
        DispatchQueue.concurrentPerform(iterations: layers.count) { number in
            let layer = layers[number]
            let result = Result { () throws(LayoutFSError) -> (LayerIndexRecord, LayerIndexing.Outcome, BlobBytes, BlobFile?) in
                let content = try provider.open(layer)
                let (record, outcome, copy) = try indexing.index(
                    layer: layer, number: number, diffID: diffIDs?[number], content: content, deadline: deadline, log: log)
                // A layer with an uncompressed copy is read from the copy.
                let source: any FileContent = copy.map { LocalFileContent(file: $0) } ?? content
                return (record, outcome, BlobBytes(content: source, name: layer.digest.description, deadline: deadline), copy)
            }
            outcomes.withLock { $0[number] = result }
        }
        var report = Report()
        var built = Built(records: [])
        var readers: [LayerReader] = []
        var builder = RootfsBuilder()
        let results = outcomes.withLock { $0 }
        for number in layers.indices {
            guard let result = results[number] else { throw LayoutFSError(.io, "layer \(number) was not indexed") }
            let (record, outcome, blob, copy) = try result.get()
            var failure: String?
            switch outcome {
            case .built:
                report.built += 1
                built.records.append((record, copy))
            case .loaded: report.loaded += 1
            case .mismatch(let why):
                report.built += 1
                report.failures.append(why)
                failure = why
            }
            do {
                try builder.apply(layer: number, members: record.members)
            } catch {
                throw LayoutFSError(.io, error.message)
            }
            readers.append(LayerReader(number: number, record: record, blob: blob, cache: cache, failure: failure))
        }
        return (RootfsView.Generation(tree: builder.build(), layers: readers, report: report), built)
    }
}
