/// An image's root filesystem as its layers' member tables give it: every path the image shows,
/// each naming a node (hard links share one), with where a file's bytes are: which layer, at
/// which offset of that layer's uncompressed stream. Built by ``RootfsBuilder``.
package struct RootfsTree: Sendable {
    /// A file, directory, link or device as the image shows it.
    package struct Node: Sendable, Equatable {
        /// Never ``TarMember/Kind/hardlink``: a hard link is another path of its target's node.
        package var kind: TarMember.Kind
        package var mode: UInt32
        package var uid: UInt32
        package var gid: UInt32
        package var modificationTime: Int64
        package var modificationNanoseconds: UInt32
        /// Bytes of a file's data (0 for other kinds).
        package var size: Int64
        /// A symlink's target as written.
        package var linkTarget: String?
        package var deviceMajor: UInt32
        package var deviceMinor: UInt32
        package var extendedAttributes: [String: [UInt8]]
        /// The layer (index in the manifest, 0 first) whose member gave the node; -1 for a
        /// directory no member names (a parent implied by a deeper path, or the root).
        package var layer: Int
        /// Offset of a file's data in its layer's uncompressed stream.
        package var dataOffset: Int64
        /// Paths naming the node (files), or 2 plus its subdirectories (directories), as
        /// `stat` reports `st_nlink`.
        package var linkCount: Int

        /// A directory no member names: 0755, owned by root, time 0.
        static let impliedDirectory: Node = {
            var node = Node(TarMember(path: "", kind: .directory, mode: 0o755), layer: -1)
            node.linkCount = 2
            return node
        }()

        /// The node a member gives (not a hard link: that is its target's node).
        init(_ member: TarMember, layer: Int) {
            kind = member.kind
            mode = member.mode
            uid = member.uid
            gid = member.gid
            modificationTime = member.modificationTime
            modificationNanoseconds = member.modificationNanoseconds
            size = member.size
            linkTarget = member.kind == .symlink ? member.linkTarget : nil
            deviceMajor = member.deviceMajor
            deviceMinor = member.deviceMinor
            extendedAttributes = member.extendedAttributes
            self.layer = layer
            dataOffset = member.dataOffset
            linkCount = 1
        }
    }

    /// The nodes; ``root`` is the root directory. Nodes no path names any more are left out.
    package let nodes: [Node]
    /// Each directory's entries, by name, sorted.
    package let entries: [Int: [(name: String, node: Int)]]
    /// The root directory's node.
    package let root = 0

    init(nodes: [Node], entries: [Int: [(name: String, node: Int)]]) {
        self.nodes = nodes
        self.entries = entries
    }

    /// The node `path` (relative, `/`-separated) names, or nil.
    package func node(at path: String) -> Int? {
        var current = root
        for part in path.split(separator: "/") {
            guard let next = entries[current]?.first(where: { $0.name == part })?.node else { return nil }
            current = next
        }
        return current
    }

    /// Every path and its node, parents first (the root not included).
    package func walk() -> [(path: String, node: Int)] {
        var result: [(String, Int)] = []
        var pending: [(String, Int)] = [("", root)]
        while let (prefix, directory) = pending.popLast() {
            for (name, node) in entries[directory] ?? [] {
                let path = prefix.isEmpty ? name : prefix + "/" + name
                result.append((path, node))
                if nodes[node].kind == .directory { pending.append((path, node)) }
            }
        }
        return result
    }
}
