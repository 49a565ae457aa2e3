import CFUSE

extension Request {
    /// Answers `readdir` with the part of `entries` that starts at `offset` and fits in
    /// `maxSize` bytes (`fuse_add_direntry`, `fuse_reply_buf`).
    ///
    /// Offsets are positions in `entries`: the entry at index `i` is sent with offset `i + 1`
    /// (where the next `readdir` resumes), so `entries` must list the same names in the same order
    /// for every `readdir` of one open directory. An `offset` at or past the end is an empty reply
    /// (end of directory).
    ///
    /// - Parameters:
    ///   - offset: the request's offset: 0 or one a previous reply gave.
    ///   - maxSize: the request's size in bytes.
    public consuming func reply(directoryEntries entries: [ReaddirEntry], offset: Int64, maxSize: Int) {
        let reply = Self.fillDirectoryBuffer(raw, count: entries.count, offset: offset, maxSize: maxSize) {
            raw, buffer, remaining, index in
            let entry = entries[index]
            var stat = stat()
            stat.st_ino = ino_t(entry.inode)
            stat.st_mode = entry.kind.modeBits
            return fuse_add_direntry(raw, buffer, remaining, entry.name, &stat, off_t(index + 1))
        }
        finish { raw in
            reply.withUnsafeBytes {
                _ = fuse_reply_buf(raw, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count)
            }
        }
    }

    /// Answers `readdirplus` like ``reply(directoryEntries:offset:maxSize:)``, each entry carrying
    /// a lookup answer (`fuse_add_direntry_plus`). The kernel's lookup count of every entry sent
    /// with a lookup answer goes up by one.
    public consuming func reply(directoryEntriesPlus entries: [ReaddirPlusEntry], offset: Int64, maxSize: Int) {
        let reply = Self.fillDirectoryBuffer(raw, count: entries.count, offset: offset, maxSize: maxSize) {
            raw, buffer, remaining, index in
            let entry = entries[index]
            var parameters: fuse_entry_param
            if let reply = entry.entry, entry.name != ".", entry.name != ".." {
                parameters = reply.entryParameters
            } else {
                // No node id: the kernel links nothing and takes no reference; d_ino and d_type
                // come from the attributes.
                parameters = fuse_entry_param()
                parameters.attr.st_ino = ino_t(entry.inode)
                parameters.attr.st_mode = entry.kind.modeBits
            }
            return fuse_add_direntry_plus(raw, buffer, remaining, entry.name, &parameters, off_t(index + 1))
        }
        finish { raw in
            reply.withUnsafeBytes {
                _ = fuse_reply_buf(raw, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count)
            }
        }
    }

    /// Packs entries `offset...` into a buffer of at most `maxSize` bytes with `add`, which
    /// returns the size the entry needs (it was not written if that exceeds the space left).
    private static func fillDirectoryBuffer(
        _ raw: fuse_req_t, count: Int, offset: Int64, maxSize: Int,
        add: (fuse_req_t, UnsafeMutablePointer<CChar>, Int, Int) -> Int
    ) -> [UInt8] {
        guard offset >= 0, offset < Int64(count), maxSize > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: maxSize)
        let used = buffer.withUnsafeMutableBytes { bytes -> Int in
            let base = bytes.baseAddress!.assumingMemoryBound(to: CChar.self)
            var used = 0
            for index in Int(offset)..<count {
                let needed = add(raw, base + used, maxSize - used, index)
                if needed > maxSize - used { break }
                used += needed
            }
            return used
        }
        buffer.removeLast(maxSize - used)
        return buffer
    }
}
