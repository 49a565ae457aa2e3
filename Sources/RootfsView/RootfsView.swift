import ContentStore
import LayerIndex
import LayoutFS
import OCISpec
import Synchronization

/// An image's root filesystem, served read-only: the tree its layers give (``RootfsTree``: the
/// layers applied in order, whiteouts applied and never shown), each file's bytes read from the
/// layer that provides it (``LayerReader``). Inode numbers are the tree's node numbers plus one
/// (the root is 1); hard links share their node's.
///
/// `getfattr -n user.layoutfs.layer FILE` names the layer that provides a node: its digest and
/// its number in the manifest (`sha256:… (layer 2)`); on the root, `user.layoutfs.layer_list`
/// lists the layers (number, digest, members, sizes) and `user.layoutfs.layers` says how their
/// indexes were had. Like every `user.layoutfs.*` attribute they are answered by name and never
/// listed. A layer whose diff_id did not match fails its files'
/// reads with `EIO`.
package final class RootfsView: ServedTree {
    /// One image's tree and layers: a followed name that moves gives a new generation.
    struct Generation: Sendable {
        let tree: RootfsTree
        let layers: [LayerReader]
        let report: RootfsAssembly.Report
    }

    private struct State {
        var current: UInt64 = 0
        var generations: [UInt64: Generation]
        var handles: [UInt64: (generation: UInt64, node: Int)] = [:]
        var nextHandle: UInt64 = 1
    }

    private let state: Mutex<State>
    let provider: any BlobProvider
    /// Decompressed gzip spans, shared by the generations (keyed by layer digest).
    let cache: SpanCache

    init(_ generation: Generation, provider: any BlobProvider, cache: SpanCache) {
        state = Mutex(State(generations: [0: generation]))
        self.provider = provider
        self.cache = cache
    }

    /// How the current generation's layer indexes were had.
    package var report: RootfsAssembly.Report { current.report }

    /// How many nodes the current tree has (the root included).
    package var nodeCount: Int { current.tree.nodes.count }

    /// The current generation's number (0 at mount, +1 per ``show(_:)``).
    package var generation: UInt64 { state.withLock { $0.current } }

    private var current: Generation { state.withLock { $0.generations[$0.current]! } }

    /// Shows `next` (another image's tree, a followed name having moved): the root (inode 1)
    /// lists its entries from now on; the previous generations stay readable through the inodes
    /// and handles the kernel already has, until ``retire()``.
    /// - Returns: the new generation's number, and the names the root listed before (for the
    ///   kernel to forget, with the root's cached listing).
    func show(_ next: Generation) -> (generation: UInt64, previousNames: [String]) {
        state.withLock { state in
            let previous = state.generations[state.current]!
            state.current += 1
            state.generations[state.current] = next
            return (state.current, (previous.tree.entries[previous.tree.root] ?? []).map(\.name))
        }
    }

    /// Forgets every generation but the current one (their grace period is over): their inodes
    /// answer `ENOENT` and their open handles `EBADF` from now on.
    package func retire() {
        state.withLock { state in
            let current = state.current
            state.generations = state.generations.filter { $0.key == current }
            state.handles = state.handles.filter { $0.value.generation == current }
        }
    }

    /// Inode numbers: the root is 1 in every generation (it shows the current one); node `n` of
    /// generation `g` is `g << 40 | (n + 1)`, so generation 0's are the node numbers plus one.
    private static let generationShift: UInt64 = 40

    private static func inode(generation: UInt64, node: Int) -> UInt64 {
        node == 0 ? 1 : generation << generationShift | UInt64(node + 1)
    }

    /// The generation and node an inode names.
    private func locate(_ inode: UInt64) throws(LayoutFSError) -> (generation: UInt64, tree: Generation, node: Int) {
        let found: (UInt64, Generation)? = state.withLock { state in
            let number = inode == 1 ? state.current : inode >> Self.generationShift
            return state.generations[number].map { (number, $0) }
        }
        guard let (number, generation) = found else { throw LayoutFSError(.notFound, "no inode \(inode) (a generation gone)") }
        let node = inode == 1 ? 0 : Int(inode & (1 << Self.generationShift - 1)) - 1
        guard node >= 0, node < generation.tree.nodes.count else { throw LayoutFSError(.notFound, "no inode \(inode)") }
        return (number, generation, node)
    }

    package func attributes(of inode: UInt64) throws(LayoutFSError) -> NodeAttributes {
        let node = try locate(inode)
        return Self.attributes(of: node.tree.tree.nodes[node.node], inode: inode)
    }

    private static func attributes(of node: RootfsTree.Node, inode: UInt64) -> NodeAttributes {
        let size: Int64 =
            switch node.kind {
            case .directory: 4096
            case .symlink: Int64(node.linkTarget?.utf8.count ?? 0)
            case .file: node.size
            default: 0
            }
        return NodeAttributes(
            inode: inode, kind: Self.kind(node.kind), size: size, permissions: node.mode & 0o7777, linkCount: UInt32(clamping: node.linkCount),
            modificationTime: node.modificationTime, modificationNanoseconds: node.modificationNanoseconds, owner: (node.uid, node.gid),
            device: (node.deviceMajor, node.deviceMinor))
    }

    package func lookup(parent: UInt64, name: String) throws(LayoutFSError) -> NodeAttributes {
        let (generation, tree, entries) = try children(of: parent)
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].name < name { low = middle + 1 } else { high = middle }
        }
        guard low < entries.count, entries[low].name == name else { throw LayoutFSError(.notFound, "\(name) not found") }
        let node = entries[low].node
        return Self.attributes(of: tree.tree.nodes[node], inode: Self.inode(generation: generation, node: node))
    }

    package func entries(of inode: UInt64) throws(LayoutFSError) -> [DirectoryEntry] {
        let (generation, tree, entries) = try children(of: inode)
        return entries.map {
            DirectoryEntry(name: $0.name, inode: Self.inode(generation: generation, node: $0.node), kind: Self.kind(tree.tree.nodes[$0.node].kind))
        }
    }

    private func children(of inode: UInt64) throws(LayoutFSError) -> (UInt64, Generation, [(name: String, node: Int)]) {
        let (generation, tree, node) = try locate(inode)
        guard tree.tree.nodes[node].kind == .directory else { throw LayoutFSError(.notDirectory, "inode \(inode) is not a directory") }
        return (generation, tree, tree.tree.entries[node] ?? [])
    }

    package func linkTarget(of inode: UInt64) throws(LayoutFSError) -> String {
        let located = try locate(inode)
        let node = located.tree.tree.nodes[located.node]
        guard node.kind == .symlink, let target = node.linkTarget else { throw LayoutFSError(.invalidArgument, "inode \(inode) is not a symlink") }
        return target
    }

    package func open(_ inode: UInt64) throws(LayoutFSError) -> UInt64 {
        let (generation, tree, index) = try locate(inode)
        switch tree.tree.nodes[index].kind {
        case .file: break
        case .directory: throw LayoutFSError(.isDirectory, "inode \(inode) is a directory")
        default: throw LayoutFSError(.invalidArgument, "inode \(inode) is not a regular file")
        }
        return state.withLock { state in
            let handle = state.nextHandle
            state.nextHandle += 1
            state.handles[handle] = (generation, index)
            return handle
        }
    }

    package func read(
        inode: UInt64, handle: UInt64, offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void
    ) {
        let opened: (Generation, Int)?
        if handle == 0 {
            // The kernel skips open (opensAreStateless): the inode says which file.
            guard let located = try? locate(inode), located.tree.tree.nodes[located.node].kind == .file else {
                return completion(.failure(LayoutFSError(.badHandle, "inode \(inode) is not a file of this tree")))
            }
            opened = (located.tree, located.node)
        } else {
            opened = state.withLock { state in
                state.handles[handle].flatMap { handle in state.generations[handle.generation].map { ($0, handle.node) } }
            }
        }
        guard let (generation, index) = opened else {
            return completion(.failure(LayoutFSError(.badHandle, "no open file handle \(handle)")))
        }
        guard offset >= 0, byteCount >= 0 else { return completion(.failure(LayoutFSError(.io, "negative offset or count"))) }
        let node = generation.tree.nodes[index]
        guard offset < node.size, byteCount > 0 else { return completion(.success(.bytes([]))) }
        let count = Int(min(Int64(byteCount), node.size - offset))
        generation.layers[node.layer].read(offset: node.dataOffset + offset, count: count, completion: completion)
    }

    package func release(handle: UInt64) {
        _ = state.withLock { $0.handles.removeValue(forKey: handle) }
    }

    package func keepsCache(_ inode: UInt64) -> Bool { true }

    package func keepsPages(handle: UInt64) -> Bool { true }

    package func extendedAttribute(of inode: UInt64, name: String) throws(LayoutFSError) -> [UInt8] {
        let located = try locate(inode)
        let node = located.tree.tree.nodes[located.node]
        if inode == 1, name == "user.layoutfs.layers" {
            // How the layers' indexes were had: `N indexed, M loaded` (tests read it).
            let report = located.tree.report
            return Array("\(report.built) indexed, \(report.loaded) loaded".utf8)
        }
        if inode == 1, name == "user.layoutfs.layer_list" {
            // One line per layer: number, digest, members, compressed and uncompressed bytes,
            // and whether its files fail.
            return Array(
                located.tree.layers.map { layer in
                    let record = layer.record
                    return
                        "\(layer.number) \(record.layer) \(record.members.count) members \(record.compressedSize) bytes \(record.uncompressedSize) uncompressed"
                        + (layer.failure == nil ? "" : " corrupt") + "\n"
                }.joined().utf8)
        }
        if name == "user.layoutfs.layer" {
            guard node.layer >= 0 else { throw LayoutFSError(.noAttribute, "inode \(inode) comes from no layer (an implied directory)") }
            return Array("\(located.tree.layers[node.layer].record.layer) (layer \(node.layer))".utf8)
        }
        guard let value = node.extendedAttributes[name] else { throw LayoutFSError(.noAttribute, "no attribute \(name)") }
        return value
    }

    package func extendedAttributeNames(of inode: UInt64) throws(LayoutFSError) -> [String] {
        let located = try locate(inode)
        return located.tree.tree.nodes[located.node].extendedAttributes.keys.sorted()
    }

    /// True: a tree never changes (a followed name that moves gives a new generation, whose
    /// root listing the kernel is told to forget).
    package var directoriesAreImmutable: Bool { true }

    /// The current tree's nodes, and its files' bytes (a hard-linked file once): one pass over
    /// the node array, not a walk through the FUSE side (2 s for 2 million nodes).
    package var usage: (nodes: UInt64, bytes: Int64)? {
        let tree = current.tree
        var bytes: Int64 = 0
        for node in tree.nodes where node.kind == .file { bytes += node.size }
        return (UInt64(tree.nodes.count), bytes)
    }

    /// True: a file is read by its inode (which names its generation).
    package var opensAreStateless: Bool { true }

    package var bytesFetched: Int64 { provider.bytesFetched }

    package func readTimedOut(inode: UInt64, after deadline: Duration) -> String {
        guard let located = try? locate(inode), located.tree.tree.nodes[located.node].layer >= 0 else { return "inode \(inode)" }
        let layer = located.tree.layers[located.tree.tree.nodes[located.node].layer]
        return "a file of layer \(layer.number) (\(layer.record.layer))"
    }

    package func onInvalidate(_ handler: @escaping @Sendable (UInt64) -> Void) {}

    package func repointReplacedBlobs() -> [UInt64] { [] }

    static func kind(_ kind: TarMember.Kind) -> NodeKind {
        switch kind {
        case .directory: .directory
        case .file, .hardlink: .regularFile
        case .symlink: .symbolicLink
        case .characterDevice: .characterDevice
        case .blockDevice: .blockDevice
        case .fifo: .fifo
        }
    }
}
