/// Paths of tar members as a layer's root sees them.
package enum TarPath {
    /// `raw` relative to the root: `./`, empty and `.` components dropped, `..` applied; nil
    /// for the root itself (`./`). A member named `/etc/x` or one whose `..` climbs above the
    /// root is refused, never clamped: tools disagree on what it means (tar strips the `/`,
    /// securejoin clamps), and a layer that holds one is not one that any builder writes.
    /// - Throws: ``LayerIndexError/Code/unsafePath``.
    package static func normalized(_ raw: String) throws(LayerIndexError) -> String? {
        if raw.hasPrefix("/") {
            throw LayerIndexError(.unsafePath, "member \(quoted(raw)) has an absolute path: a layer's members are relative to its root")
        }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !parts.isEmpty else {
                    throw LayerIndexError(.unsafePath, "member \(quoted(raw)) climbs out of the layer's root with ..")
                }
                parts.removeLast()
            default:
                // NAME_MAX, as every file system and unpacker has it (a whiteout adds `.wh.`): a
                // name past FUSE's 1024 bytes would end its directory's listing with EIO.
                guard part.utf8.count <= (part.hasPrefix(".wh.") ? 259 : 255) else {
                    throw LayerIndexError(
                        .invalidMember, "member \(quoted(raw)) has a name of \(part.utf8.count) bytes, more than the 255 a file name can have")
                }
                parts.append(part)
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    /// `text` quoted for a message, at most 200 characters, control characters escaped.
    static func quoted(_ text: String) -> String {
        let shown = text.prefix(200).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }
        return "\"" + shown.joined() + (text.count > 200 ? "..." : "") + "\""
    }
}
