/// Applies layers' member tables in order into a ``RootfsTree``, as OCI image-spec layer.md
/// "Applying Changesets" and "Whiteouts" say and `umoci unpack` does:
/// - a layer's whiteouts (`.wh.NAME`) and opaque markers (`.wh..wh..opq`) apply to the layers
///   below it only, whatever their place in its stream: they are applied before its other
///   members, and never shown;
/// - a member replaces what its path named (a directory over a directory keeps the lower
///   one's entries and takes the new attributes; anything else replaces the whole subtree);
/// - a member's parent path is resolved as containerd's and umoci's appliers resolve it (Go's
///   securejoin, containerd's `fs.RootPath`): a symlink met on the way is followed, an absolute
///   target from the image's root, a relative one from the symlink's directory, `..` never
///   above the root; so `bin/tool` under a lower layer's `bin -> usr/bin` lands in `usr/bin`.
///   The member's own last component is never followed: a member named like a symlink replaces
///   it;
/// - parents a member implies but no member names are directories 0755 owned by root, and
///   replace a non-directory in the way;
/// - the root's own member (`./`) gives the root directory its attributes;
/// - a hard link names a path present at that point (in a lower layer, or earlier in its own)
///   and shares its node.
package struct RootfsBuilder {
    private var nodes: [RootfsTree.Node] = [.impliedDirectory]
    private var entries: [Int: [String: Int]] = [0: [:]]
    /// The directory the last member's parent path named (members come grouped by directory):
    /// forgotten whenever a directory is replaced or hidden.
    private var lastDirectory: (path: String, node: Int)?
    /// Directories the current layer implied (made for a deeper path, no member naming them).
    private var implied = 0
    /// Implied directories a layer may make beyond one per member: a real layer names its
    /// directories or has a file under each, while one member of a 1 MiB path can imply half a
    /// million (a layer of a few KiB would otherwise fill memory).
    package static let impliedAllowance = 1 << 16

    package init() {}

    /// Applies layer number `layer` (0 first) with its members in stream order.
    /// - Throws: ``LayerIndexError/Code/invalidMember`` for a whiteout of `.` or `..`, or a
    ///   hard link whose target is not present (missing, later in the stream, a directory).
    package mutating func apply(layer: Int, members: [TarMember]) throws(LayerIndexError) {
        lastDirectory = nil
        implied = 0
        for member in members where !Self.isAUFSMetadata(member.path) {
            let (parent, name) = Self.split(member.path)
            if name == ".wh..wh..opq" {
                if let directory = resolve(parent), nodes[directory].kind == .directory { entries[directory] = [:] }
            } else if name.hasPrefix(".wh.") {
                let hidden = String(name.dropFirst(".wh.".count))
                guard !hidden.isEmpty, hidden != ".", hidden != ".." else {
                    throw LayerIndexError(
                        .invalidMember, "layer \(layer) has a whiteout of \(TarPath.quoted(hidden)) in \(TarPath.quoted(parent)), which names no entry")
                }
                if let directory = resolve(parent) { entries[directory]?[hidden] = nil }
            }
        }
        for member in members where !Self.isAUFSMetadata(member.path) {
            if member.path.isEmpty {
                // The root's own member: its attributes, its entries kept.
                if member.kind == .directory {
                    var root = RootfsTree.Node(member, layer: layer)
                    root.linkCount = nodes[0].linkCount
                    nodes[0] = root
                }
                continue
            }
            let (parent, name) = Self.split(member.path)
            if name.hasPrefix(".wh.") { continue }
            let directory = try makeDirectories(parent, layer: layer, budget: members.count + Self.impliedAllowance)
            let existing = entries[directory]?[name]
            switch member.kind {
            case .hardlink:
                let target = member.linkTarget.flatMap { lookUp($0) }
                guard let target, nodes[target].kind != .directory else {
                    throw LayerIndexError(
                        .invalidMember,
                        "hard link \(TarPath.quoted(member.path)) in layer \(layer) names \(TarPath.quoted(member.linkTarget ?? "")), which is not a file there (missing, later in the layer, or a directory)"
                    )
                }
                // A replaced directory or symlink may be what a remembered parent path resolved through.
                if existing != nil { lastDirectory = nil }
                entries[directory]?[name] = target
            case .directory where existing.map({ nodes[$0].kind == .directory }) == true:
                var updated = RootfsTree.Node(member, layer: layer)
                updated.linkCount = 2
                nodes[existing!] = updated
            default:
                if existing != nil { lastDirectory = nil }
                nodes.append(RootfsTree.Node(member, layer: layer))
                let node = nodes.count - 1
                if member.kind == .directory { entries[node] = [:] }
                entries[directory]?[name] = node
            }
        }
    }

    /// The tree, with link counts and only the nodes some path names.
    package func build() -> RootfsTree {
        var kept: [Int: Int] = [0: 0]
        var result: [RootfsTree.Node] = [nodes[0]]
        var sortedEntries: [Int: [(name: String, node: Int)]] = [:]
        var pending = [0]
        while let directory = pending.popLast() {
            let here = kept[directory]!
            var list: [(name: String, node: Int)] = []
            for (name, node) in (entries[directory] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let index: Int
                if let known = kept[node] {
                    index = known
                    result[index].linkCount += 1
                } else {
                    index = result.count
                    kept[node] = index
                    var copy = nodes[node]
                    copy.linkCount = copy.kind == .directory ? 2 : 1
                    result.append(copy)
                    if copy.kind == .directory {
                        pending.append(node)
                        result[here].linkCount += 1
                    }
                }
                list.append((name, index))
            }
            sortedEntries[here] = list
        }
        return RootfsTree(nodes: result, entries: sortedEntries)
    }

    /// AUFS's own metadata (`.wh..wh.plnk/...`, `.wh..wh.aufs`): neither shown nor a whiteout
    /// of a path, as containerd's and umoci's appliers skip it. The opaque marker is not.
    private static func isAUFSMetadata(_ path: String) -> Bool {
        // Byte-wise (paths are normalized: no empty components): most paths have no ".wh.".
        guard path.utf8.contains(0x2E) else { return false }
        return components(path).contains { $0.hasPrefix(".wh..wh.") && $0 != ".wh..wh..opq" }
    }

    /// The `/`-separated components of a normalized path, split on its UTF-8 bytes (splitting
    /// by Character costs several times more on 10,000-member layers).
    private static func components(_ path: String) -> [String] {
        path.utf8.split(separator: 0x2F).map { String(Substring($0)) }
    }

    private static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.utf8.lastIndex(of: 0x2F) else { return ("", path) }
        return (String(Substring(path.utf8[..<slash])), String(Substring(path.utf8[path.utf8.index(after: slash)...])))
    }

    /// The node `path` names: its parent resolved (symlinks followed), its last component not
    /// followed (a hard link to a symlink links the symlink).
    private mutating func lookUp(_ path: String) -> Int? {
        let (parent, name) = Self.split(path)
        guard let directory = resolve(parent) else { return nil }
        return entries[directory]?[name]
    }

    /// Most symlinks followed while resolving one path (Linux's limit is 40; securejoin's 255).
    static let symlinkLimit = 255

    /// The directory `path` resolves to, symlinks followed (see the type's notes); nil when a
    /// component is missing or not a directory.
    private mutating func resolve(_ path: String) -> Int? {
        try? walk(path, create: nil)
    }

    /// The directory `path` resolves to, made (with its parents) where missing or not a
    /// directory.
    /// - Throws: ``LayerIndexError/Code/unsupported`` past `budget` implied directories in the layer.
    private mutating func makeDirectories(_ path: String, layer: Int, budget: Int) throws(LayerIndexError) -> Int {
        if let lastDirectory, lastDirectory.path == path { return lastDirectory.node }
        let directory = try walk(path, create: (layer, budget))!
        lastDirectory = (path, directory)
        return directory
    }

    /// Walks `path` from the root: a directory is entered, a symlink's target spliced in (at
    /// most ``symlinkLimit`` of them), `..` goes up but never above the root. With `create`, a
    /// missing component or a non-directory in the way becomes an implied directory, at most
    /// `budget` of them in layer `layer`.
    /// - Throws: ``LayerIndexError/Code/unsupported`` past the budget.
    private mutating func walk(_ path: String, create: (layer: Int, budget: Int)?) throws(LayerIndexError) -> Int? {
        var stack = [0]
        // Components still to walk, the next one last.
        var pending = Array(Self.components(path).reversed())
        var links = 0
        while let part = pending.popLast() {
            if part == "." { continue }
            if part == ".." {
                if stack.count > 1 { stack.removeLast() }
                continue
            }
            let current = stack[stack.count - 1]
            if let next = entries[current]?[part] {
                switch nodes[next].kind {
                case .directory:
                    stack.append(next)
                    continue
                case .symlink where links < Self.symlinkLimit:
                    links += 1
                    let target = nodes[next].linkTarget ?? ""
                    if target.hasPrefix("/") { stack = [0] }
                    pending += Self.components(target).reversed()
                    continue
                default: break
                }
            }
            guard let (layer, budget) = create else { return nil }
            implied += 1
            guard implied <= budget else {
                throw LayerIndexError(
                    .unsupported, "layer \(layer) implies more than \(budget) directories that none of its members names (at \(TarPath.quoted(path)))")
            }
            nodes.append(.impliedDirectory)
            let made = nodes.count - 1
            entries[made] = [:]
            entries[current]?[part] = made
            stack.append(made)
        }
        return stack[stack.count - 1]
    }
}
