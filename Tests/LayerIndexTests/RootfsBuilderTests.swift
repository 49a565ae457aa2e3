import LayerIndex
import Testing

/// Layers applied in order: whiteouts and opaque directories hide only what is below them, a
/// path changes kind and back, hard links share a node and its count, parents are implied.
@Suite("rootfs from layers")
struct RootfsBuilderTests {
    private static func file(_ path: String, at offset: Int64 = 0, size: Int64 = 1, mode: UInt32 = 0o644) -> TarMember {
        TarMember(path: path, kind: .file, mode: mode, size: size, dataOffset: offset)
    }

    private static func directory(_ path: String, mode: UInt32 = 0o755, uid: UInt32 = 0) -> TarMember {
        TarMember(path: path, kind: .directory, mode: mode, uid: uid)
    }

    private static func paths(_ tree: RootfsTree) -> [String] { tree.walk().map(\.path).sorted() }

    @Test("whiteouts and an opaque directory across three layers hide what is below them only, wherever they stand in their layer")
    func whiteouts() throws {
        var builder = RootfsBuilder()
        try builder.apply(
            layer: 0,
            members: [Self.directory("etc"), Self.file("etc/motd"), Self.file("etc/hosts"), Self.directory("var/lib/apt"), Self.file("var/lib/apt/lists")])
        // The whiteout comes after the file it would hide in this same layer: it hides only layer 0's.
        try builder.apply(
            layer: 1,
            members: [Self.file("etc/motd", at: 512), Self.file("etc/.wh.motd"), Self.file("etc/.wh.hosts"), Self.file("var/lib/apt/.wh..wh..opq")])
        try builder.apply(layer: 2, members: [Self.file("var/lib/apt/new"), Self.file("var/lib/.wh.absent")])
        let tree = builder.build()
        #expect(Self.paths(tree) == ["etc", "etc/motd", "var", "var/lib", "var/lib/apt", "var/lib/apt/new"])
        let motd = tree.nodes[try #require(tree.node(at: "etc/motd"))]
        #expect(motd.layer == 1 && motd.dataOffset == 512)
        // Implied parents: 0755, root, no layer.
        let lib = tree.nodes[try #require(tree.node(at: "var/lib"))]
        #expect(lib.kind == .directory && lib.mode == 0o755 && lib.layer == -1)
    }

    @Test("a file replaced by a directory and back; a directory over a directory keeps the entries below and takes the new attributes")
    func replacements() throws {
        var builder = RootfsBuilder()
        try builder.apply(layer: 0, members: [Self.file("a"), Self.directory("d", mode: 0o700), Self.file("d/kept")])
        try builder.apply(layer: 1, members: [Self.directory("a"), Self.file("a/inside"), Self.directory("d", mode: 0o750, uid: 7)])
        var tree = builder.build()
        #expect(Self.paths(tree) == ["a", "a/inside", "d", "d/kept"])
        let d = tree.nodes[try #require(tree.node(at: "d"))]
        #expect(d.mode == 0o750 && d.uid == 7 && d.layer == 1)
        try builder.apply(layer: 2, members: [Self.file("a", at: 4096)])
        tree = builder.build()
        #expect(Self.paths(tree) == ["a", "d", "d/kept"])
        #expect(tree.nodes[try #require(tree.node(at: "a"))].kind == .file)
        // A file where a later member's parent must be: replaced by an implied directory.
        try builder.apply(layer: 3, members: [Self.file("a/b/c")])
        tree = builder.build()
        #expect(Self.paths(tree) == ["a", "a/b", "a/b/c", "d", "d/kept"])
    }

    @Test("hard links share one node and count its paths; a later write breaks the link; a removed path lowers the count")
    func hardLinks() throws {
        var builder = RootfsBuilder()
        try builder.apply(
            layer: 0,
            members: [
                Self.file("usr/bin/perl", at: 1024, size: 10, mode: 0o755),
                TarMember(path: "usr/bin/perl5", kind: .hardlink, linkTarget: "usr/bin/perl"),
                TarMember(path: "usr/bin/perl5.36", kind: .hardlink, linkTarget: "usr/bin/perl"),
            ])
        var tree = builder.build()
        let perl = try #require(tree.node(at: "usr/bin/perl"))
        #expect(tree.node(at: "usr/bin/perl5") == perl && tree.node(at: "usr/bin/perl5.36") == perl)
        #expect(tree.nodes[perl].linkCount == 3 && tree.nodes[perl].size == 10 && tree.nodes[perl].mode == 0o755)
        try builder.apply(layer: 1, members: [Self.file("usr/bin/perl5", at: 2048), Self.file("usr/bin/.wh.perl5.36")])
        tree = builder.build()
        let original = try #require(tree.node(at: "usr/bin/perl"))
        #expect(tree.nodes[original].linkCount == 1)
        #expect(tree.node(at: "usr/bin/perl5") != original)
        // Directories count 2 plus their subdirectories.
        #expect(tree.nodes[try #require(tree.node(at: "usr"))].linkCount == 3)
        #expect(tree.nodes[tree.root].linkCount == 3)
    }

    @Test("a hard link to a missing, later or directory path, and a whiteout of . or .., are errors that name the layer")
    func refusals() throws {
        let cases: [[TarMember]] = [
            [TarMember(path: "a", kind: .hardlink, linkTarget: "missing")],
            [TarMember(path: "a", kind: .hardlink, linkTarget: "b"), Self.file("b")],
            [Self.directory("dir"), TarMember(path: "a", kind: .hardlink, linkTarget: "dir")],
            [Self.file("x/.wh..")],
            [Self.file(".wh..")],
        ]
        for members in cases {
            var builder = RootfsBuilder()
            let error = #expect(throws: LayerIndexError.self) { try builder.apply(layer: 4, members: members) }
            #expect(error?.code == .invalidMember)
            #expect(error?.message.contains("layer 4") == true, "\(String(describing: error))")
        }
        // AUFS metadata is not a whiteout of a path, and is never shown.
        var builder = RootfsBuilder()
        try builder.apply(layer: 0, members: [Self.file(".wh..wh.plnk/1.2"), Self.file("kept")])
        #expect(Self.paths(builder.build()) == ["kept"])
    }

    private static func symlink(_ path: String, _ target: String) -> TarMember {
        TarMember(path: path, kind: .symlink, mode: 0o777, linkTarget: target)
    }

    @Test(
        "a parent path through a symlink is followed as containerd and umoci follow it (relative, absolute, .. clamped at the root, loops bounded); a member named like the symlink replaces it"
    )
    func symlinkedParents() throws {
        var builder = RootfsBuilder()
        try builder.apply(
            layer: 0,
            members: [
                Self.directory("usr/bin"), Self.symlink("bin", "usr/bin"), Self.symlink("lib", "/usr/lib"), Self.symlink("up", "../../.."),
                Self.symlink("loop", "loop"), Self.symlink("real-link", "real"), Self.directory("real"), Self.file("real-link/through"),
            ])
        // Debian's usrmerge: a later layer writes bin/newtool, which is usr/bin/newtool.
        try builder.apply(
            layer: 1,
            members: [
                Self.file("bin/newtool"), Self.file("lib/x86_64/libc.so"), Self.file("up/at-root"), Self.file("usr/bin/.wh.gone"),
                Self.file("bin/.wh.absent"), Self.file("loop/inside"),
            ])
        try builder.apply(layer: 2, members: [Self.file("bin/.wh.newtool"), Self.directory("bin"), Self.file("bin/own")])
        let tree = builder.build()
        #expect(
            Self.paths(tree) == [
                "at-root", "bin", "bin/own", "lib", "loop", "loop/inside", "real", "real-link", "real/through", "up", "usr", "usr/bin", "usr/lib",
                "usr/lib/x86_64", "usr/lib/x86_64/libc.so",
            ])
        // bin was a symlink until layer 2's directory replaced it; layer 2's whiteout went
        // through it first (whiteouts come before the layer's members).
        #expect(tree.nodes[try #require(tree.node(at: "bin"))].kind == .directory)
        #expect(tree.nodes[try #require(tree.node(at: "lib"))].kind == .symlink)
        // A loop is followed 255 times, then the symlink in the way is replaced by a directory.
        #expect(tree.nodes[try #require(tree.node(at: "loop"))].kind == .directory)
    }

    @Test("the root's own member (./) gives the root its attributes, and keeps its entries")
    func rootMember() throws {
        var builder = RootfsBuilder()
        try builder.apply(layer: 0, members: [Self.file("a"), Self.directory("", mode: 0o700, uid: 7)])
        let tree = builder.build()
        #expect(tree.nodes[tree.root].mode == 0o700 && tree.nodes[tree.root].uid == 7 && tree.nodes[tree.root].layer == 0)
        #expect(Self.paths(tree) == ["a"])
    }

}
