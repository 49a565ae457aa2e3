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
/// its number in the manifest (`sha256:… (layer 2)`); like every `user.layoutfs.*` attribute it
/// is answered by name and never listed. A layer whose diff_id did not match fails its files'
/// reads with `EIO`.
package final class RootfsView: ServedTree {
    private let tree: RootfsTree
    private let layers: [LayerReader]
    private let provider: any BlobProvider
    private let handles = Mutex<(open: [UInt64: Int], next: UInt64)>(([:], 1))
    /// How the layers' indexes were had.
    package let report: RootfsAssembly.Report

    init(tree: RootfsTree, layers: [LayerReader], provider: any BlobProvider, report: RootfsAssembly.Report) {
        self.tree = tree
        self.layers = layers
        self.provider = provider
        self.report = report
    }

    /// How many nodes the tree has (the root included).
    package var nodeCount: Int { tree.nodes.count }

    private func node(_ inode: UInt64) throws(LayoutFSError) -> Int {
        guard inode >= 1, inode <= UInt64(tree.nodes.count) else { throw LayoutFSError(.notFound, "no inode \(inode)") }
        return Int(inode - 1)
    }

    package func attributes(of inode: UInt64) throws(LayoutFSError) -> NodeAttributes {
        let index = try node(inode)
        let node = tree.nodes[index]
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
        let entries = try children(of: parent)
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].name < name { low = middle + 1 } else { high = middle }
        }
        guard low < entries.count, entries[low].name == name else { throw LayoutFSError(.notFound, "\(name) not found") }
        return try attributes(of: UInt64(entries[low].node + 1))
    }

    package func entries(of inode: UInt64) throws(LayoutFSError) -> [DirectoryEntry] {
        try children(of: inode).map { DirectoryEntry(name: $0.name, inode: UInt64($0.node + 1), kind: Self.kind(tree.nodes[$0.node].kind)) }
    }

    private func children(of inode: UInt64) throws(LayoutFSError) -> [(name: String, node: Int)] {
        let index = try node(inode)
        guard tree.nodes[index].kind == .directory else { throw LayoutFSError(.notDirectory, "inode \(inode) is not a directory") }
        return tree.entries[index] ?? []
    }

    package func linkTarget(of inode: UInt64) throws(LayoutFSError) -> String {
        let node = tree.nodes[try node(inode)]
        guard node.kind == .symlink, let target = node.linkTarget else { throw LayoutFSError(.invalidArgument, "inode \(inode) is not a symlink") }
        return target
    }

    package func open(_ inode: UInt64) throws(LayoutFSError) -> UInt64 {
        let index = try node(inode)
        switch tree.nodes[index].kind {
        case .file: break
        case .directory: throw LayoutFSError(.isDirectory, "inode \(inode) is a directory")
        default: throw LayoutFSError(.invalidArgument, "inode \(inode) is not a regular file")
        }
        return handles.withLock { handles in
            let handle = handles.next
            handles.next += 1
            handles.open[handle] = index
            return handle
        }
    }

    package func read(handle: UInt64, offset: Int64, byteCount: Int, completion: @escaping @Sendable (Result<ReadResult, LayoutFSError>) -> Void) {
        guard let index = handles.withLock({ $0.open[handle] }) else {
            return completion(.failure(LayoutFSError(.badHandle, "no open file handle \(handle)")))
        }
        guard offset >= 0, byteCount >= 0 else { return completion(.failure(LayoutFSError(.io, "negative offset or count"))) }
        let node = tree.nodes[index]
        guard offset < node.size, byteCount > 0 else { return completion(.success(.bytes([]))) }
        let count = Int(min(Int64(byteCount), node.size - offset))
        layers[node.layer].read(offset: node.dataOffset + offset, count: count, completion: completion)
    }

    package func release(handle: UInt64) {
        _ = handles.withLock { $0.open.removeValue(forKey: handle) }
    }

    package func keepsCache(_ inode: UInt64) -> Bool { true }

    package func keepsPages(handle: UInt64) -> Bool { true }

    package func extendedAttribute(of inode: UInt64, name: String) throws(LayoutFSError) -> [UInt8] {
        let node = tree.nodes[try node(inode)]
        if inode == 1, name == "user.layoutfs.layers" {
            // How the layers' indexes were had: `N indexed, M loaded` (tests and `status` read it).
            return Array("\(report.built) indexed, \(report.loaded) loaded".utf8)
        }
        if name == "user.layoutfs.layer" {
            guard node.layer >= 0 else { throw LayoutFSError(.noAttribute, "inode \(inode) comes from no layer (an implied directory)") }
            return Array("\(layers[node.layer].record.layer) (layer \(node.layer))".utf8)
        }
        guard let value = node.extendedAttributes[name] else { throw LayoutFSError(.noAttribute, "no attribute \(name)") }
        return value
    }

    package func extendedAttributeNames(of inode: UInt64) throws(LayoutFSError) -> [String] {
        tree.nodes[try node(inode)].extendedAttributes.keys.sorted()
    }

    /// True: the image's tree is fixed.
    package var directoriesAreImmutable: Bool { true }

    package var bytesFetched: Int64 { provider.bytesFetched }

    package func readTimedOut(inode: UInt64, after deadline: Duration) -> String {
        guard let index = try? node(inode), tree.nodes[index].layer >= 0 else { return "inode \(inode)" }
        let layer = layers[tree.nodes[index].layer]
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
