import ArgumentParser
import ContentStore
import Foundation
import LayoutFSMount

/// What the generated bash, zsh and fish scripts offer where a file, a directory or a fixed
/// list is not enough. Each runs in `layoutfs ---completion ...`, which the scripts call on TAB:
/// it reads only the store's database and `/proc/self/mountinfo` (no daemon, no registry, no
/// lock), and prints nothing when there is nothing to read.
enum ShellCompletion {
    /// Image names from the store (`--root` on the line, else `$LAYOUTFS_ROOT` or the default).
    static let images = CompletionKind.custom { words, index, prefix in
        let request = completionWords(words, index, prefix)
        return request.completing(imageCandidates(request))
    }

    /// Image names, and directories (a mount's last argument is its mountpoint).
    static let imagesAndDirectories = CompletionKind.custom { words, index, prefix in
        let request = completionWords(words, index, prefix)
        return request.completing(imageCandidates(request) + directories(matching: request.typed.word))
    }

    /// The mountpoints of current layoutfs mounts (type `fuse.layoutfs` in
    /// `/proc/self/mountinfo`), absolute, or relative to the working directory when the typed
    /// word is.
    static let mountpoints = CompletionKind.custom { words, index, prefix in
        let request = completionWords(words, index, prefix)
        let mounted = ((try? MountTable.entries()) ?? []).filter { $0.fileSystemType == MountTable.layoutFSType }.map(\.mountPoint)
        return request.completing(relative(Array(Set(mounted)).sorted(), to: request.typed.word))
    }

    private static func completionWords(_ words: [String], _ index: Int, _ prefix: String) -> CompletionWords {
        CompletionWords(words: words, index: index, prefix: prefix, splitsAtColons: CompletionShell.requesting == .bash)
    }

    /// The store's names, each also in its short form (`demo/app:1` for
    /// `docker.io/demo/app:1`, `alpine:3` for `docker.io/library/alpine:3`) when the typed word
    /// does not already start the full one: names are stored normalized, and typed short.
    static func imageCandidates(_ request: CompletionWords) -> [String] {
        let root = StoreLocation(root: request.root)
        guard let names = SQLiteImageStore.imageNames(readingOnly: root.databasePath) else { return [] }
        let word = request.typed.word
        return names.map { name in
            guard !name.hasPrefix(word) else { return name }
            var short = Substring(name)
            for prefix in ["docker.io/", "library/"] where short.hasPrefix(prefix) { short = short.dropFirst(prefix.count) }
            return String(short)
        }
    }

    /// The directories whose path starts with `typed` (`mn` -> `mnt`, `/tmp/a` -> `/tmp/abc`),
    /// as `compgen -d` gives them: hidden ones only when the typed name starts with a dot.
    static func directories(matching typed: String) -> [String] {
        let slash = typed.lastIndex(of: "/")
        let parent = slash.map { String(typed[...$0]) } ?? ""
        let start = slash.map { String(typed[typed.index(after: $0)...]) } ?? typed
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent.isEmpty ? "." : parent)) ?? []
        return entries.filter { entry in
            guard entry.hasPrefix(start), start.hasPrefix(".") || !entry.hasPrefix(".") else { return false }
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: parent + entry, isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted().map { parent + $0 }
    }

    /// `paths` (absolute) as the typed word names them: absolute when it is empty or starts
    /// with `/`; else those under the working directory, relative (with `./` when typed so).
    static func relative(_ paths: [String], to typed: String) -> [String] {
        guard !typed.isEmpty, !typed.hasPrefix("/") else { return paths }
        let cwd = FileManager.default.currentDirectoryPath
        let base = cwd.hasSuffix("/") ? cwd : cwd + "/"
        let dot = typed.hasPrefix("./") ? "./" : ""
        return paths.filter { $0.hasPrefix(base) }.map { dot + $0.dropFirst(base.count) }
    }
}
