/// Builds a layer's member table from its uncompressed tar stream in one pass, fed in pieces
/// of any size as they are decompressed: each member with the offset of its data, so a file's
/// bytes are later read from the stream at that offset (plain tar: the blob itself; gzip: from
/// the nearest access point). Follows POSIX.1-2001 (ustar, pax `x` and `g` headers) and GNU's
/// `L`/`K` long names, as Go's archive/tar reads them for BuildKit, containerd and umoci.
///
/// The archive ends at its first zero block (what follows is padding); a stream that ends at a
/// member's boundary without one is complete too (Go's reader accepts it); one that ends inside
/// a header or a member's data is truncated.
package struct TarIndexer {
    /// The members so far, in stream order.
    package private(set) var members: [TarMember] = []
    /// Bytes consumed so far: the offset in the uncompressed stream.
    package private(set) var offset: Int64 = 0
    /// True once the zero block that ends the archive was read.
    package private(set) var ended = false

    private enum State {
        /// Collecting a header block.
        case header
        /// Skipping a member's data and padding.
        case skipping(Int64)
        /// Collecting an extension's data (`x`, `g`, `L`, `K`), `total` bytes then padding.
        case extensionData(type: UInt8, total: Int, at: Int64)
    }

    private var state = State.header
    private var pending: [UInt8] = []
    private var global = PAXRecords()
    private var local: PAXRecords?
    private var longName: (text: String, isUTF8: Bool)?
    private var longLink: (text: String, isUTF8: Bool)?
    /// Largest extension data accepted (a PAX header of a member with many xattrs; GNU names).
    static let maximumExtension = 1 << 20
    /// Most bytes of names, link targets and extended attributes a layer's members may hold
    /// together: a few MiB of gzip can expand to a stream of millions of long-named members, whose
    /// table alone would exhaust memory (a layer of a million files holds about 100 MiB).
    package static let maximumMetadata = 512 << 20
    private let metadataBudget: Int
    private var metadata = 0
    /// Global PAX records that would apply to every later member and change which member or
    /// bytes it is: Go's archive/tar (so containerd, BuildKit, umoci) never applies a global
    /// header, so a layer that relies on one means different files to different tools.
    private static let refusedGlobalKeys: Set<String> = ["path", "linkpath", "size"]

    /// - Parameter metadataBudget: most bytes of names, link targets and extended attributes
    ///   (``maximumMetadata``).
    package init(metadataBudget: Int = maximumMetadata) {
        self.metadataBudget = metadataBudget
    }

    /// Consumes the next bytes of the stream.
    /// - Throws: ``LayerIndexError`` for a header that is not tar, a field that cannot be read,
    ///   an unsafe path, or a member type layers never need.
    package mutating func consume(_ bytes: some Collection<UInt8>) throws(LayerIndexError) {
        var input = bytes[...]
        while !input.isEmpty {
            if ended {
                offset += Int64(input.count)
                return
            }
            switch state {
            case .skipping(let remaining):
                let taken = Int(min(Int64(input.count), remaining))
                input = input.dropFirst(taken)
                offset += Int64(taken)
                state = remaining == Int64(taken) ? .header : .skipping(remaining - Int64(taken))
            case .header:
                let wanted = TarHeader.blockSize - pending.count
                let taken = input.prefix(wanted)
                pending += taken
                input = input.dropFirst(taken.count)
                offset += Int64(taken.count)
                if pending.count == TarHeader.blockSize {
                    let block = pending
                    pending.removeAll(keepingCapacity: true)
                    try header(block[...], at: offset - Int64(TarHeader.blockSize))
                }
            case .extensionData(let type, let total, let at):
                let padded = Self.padded(Int64(total))
                let wanted = Int(padded) - pending.count
                let taken = input.prefix(wanted)
                pending += taken
                input = input.dropFirst(taken.count)
                offset += Int64(taken.count)
                if pending.count == Int(padded) {
                    let data = Array(pending[0..<total])
                    pending.removeAll(keepingCapacity: true)
                    state = .header
                    try extensionDone(type, data, at: at)
                }
            }
        }
    }

    /// The member table, once the whole stream was consumed.
    /// - Throws: ``LayerIndexError/Code/truncated`` when the stream ended inside a header or a
    ///   member's data, or after an extension header with no member.
    package func finish() throws(LayerIndexError) -> [TarMember] {
        if ended { return members }
        switch state {
        case .header where pending.isEmpty && local == nil && longName == nil && longLink == nil:
            return members
        default:
            throw LayerIndexError(.truncated, "the layer's tar stream ends in the middle of a member (at offset \(offset)): the layer is truncated")
        }
    }

    private static func padded(_ size: Int64) -> Int64 { (size + 511) / 512 * 512 }

    private mutating func header(_ block: ArraySlice<UInt8>, at start: Int64) throws(LayerIndexError) {
        if TarHeader.isZero(block) {
            ended = true
            return
        }
        let header = try TarHeader(block, at: start)
        switch header.typeflag {
        case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            guard header.size <= Int64(Self.maximumExtension) else {
                throw LayerIndexError(.invalidMember, "the tar extension header at offset \(start) is \(header.size) bytes, more than \(Self.maximumExtension)")
            }
            state = header.size == 0 ? .header : .extensionData(type: header.typeflag, total: Int(header.size), at: start)
            if header.size == 0 { try extensionDone(header.typeflag, [], at: start) }
        default:
            try member(header, at: start)
        }
    }

    private mutating func extensionDone(_ type: UInt8, _ data: [UInt8], at start: Int64) throws(LayerIndexError) {
        switch type {
        // A second `x` before a member replaces the first, as in Go's reader.
        case UInt8(ascii: "x"): local = try PAXRecords(data, at: start)
        case UInt8(ascii: "g"):
            let records = try PAXRecords(data, at: start)
            if let key = records.values.keys.sorted().first(where: Self.refusedGlobalKeys.contains) {
                throw LayerIndexError(
                    .unsupported,
                    "the global PAX header at offset \(start) sets \(key) for every later member, which tools disagree on (Go's archive/tar ignores it)")
            }
            global = global.merging(records)
        case UInt8(ascii: "L"): longName = (TarHeader.string(data[...]), TarHeader.isUTF8(data[...]))
        default: longLink = (TarHeader.string(data[...]), TarHeader.isUTF8(data[...]))
        }
    }

    private mutating func member(_ header: TarHeader, at start: Int64) throws(LayerIndexError) {
        let records = local.map { global.merging($0) } ?? global
        defer {
            local = nil
            longName = nil
            longLink = nil
        }
        let (rawName, nameIsUTF8) =
            records.string("path").map { ($0, records.isUTF8("path")) } ?? longName ?? (header.name, header.nameIsUTF8)
        let (rawLink, linkIsUTF8) =
            records.string("linkpath").map { ($0, records.isUTF8("linkpath")) } ?? longLink ?? (header.linkName, header.linkNameIsUTF8)
        // Decoded with replacement characters, two such names would be one entry, and a link
        // would point elsewhere: refused, not shown wrong.
        guard nameIsUTF8, linkIsUTF8 || rawLink.isEmpty else {
            throw LayerIndexError(
                .unsupported,
                "member \(TarPath.quoted(rawName)) at offset \(start) has a name or link target that is not UTF-8, which the rootfs view cannot show")
        }
        let kind: TarMember.Kind
        switch header.typeflag {
        // Only the old `\0` type is a directory by its trailing `/` (Go's reader; GNU tar still
        // skips the data): a `0` named `d/` is a file, and its data must not be read as members.
        case 0: kind = rawName.hasSuffix("/") ? .directory : .file
        case UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
        case UInt8(ascii: "1"): kind = .hardlink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "3"): kind = .characterDevice
        case UInt8(ascii: "4"): kind = .blockDevice
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        default:
            let what = header.typeflag == UInt8(ascii: "S") ? "a GNU sparse file" : "type \(TarPath.quoted(String(UnicodeScalar(header.typeflag))))"
            throw LayerIndexError(.unsupported, "member \(TarPath.quoted(rawName)) at offset \(start) is \(what), which image layers do not use")
        }
        if records.isSparse {
            throw LayerIndexError(.unsupported, "member \(TarPath.quoted(rawName)) at offset \(start) is a GNU sparse file, which image layers do not use")
        }
        let size = try records.integer("size", at: start) ?? header.size
        guard size >= 0, size <= TarHeader.maximumSize else {
            throw LayerIndexError(.invalidMember, "member \(TarPath.quoted(rawName)) at offset \(start) has a size of \(size) bytes, which no layer holds")
        }
        // Header-only types carry no data whatever their size field says (as Go's reader).
        let dataSize = kind == .file ? size : 0
        let time = try records.time("mtime", at: start) ?? (header.modificationTime, 0)
        let dataOffset = start + Int64(TarHeader.blockSize)
        let normalized = try TarPath.normalized(rawName)
        guard normalized != nil || kind == .directory else {
            throw LayerIndexError(.invalidMember, "member \(TarPath.quoted(rawName)) at offset \(start) names the root but is not a directory")
        }
        // The root itself (`./`) is a member with an empty path: its attributes are the root's.
        let path = normalized ?? ""
        var linkTarget: String?
        switch kind {
        case .symlink: linkTarget = rawLink
        case .hardlink:
            guard let target = try TarPath.normalized(rawLink) else {
                throw LayerIndexError(.invalidMember, "hard link \(TarPath.quoted(rawName)) at offset \(start) names the root as its target")
            }
            linkTarget = target
        default: break
        }
        metadata += path.utf8.count + (linkTarget ?? rawLink).utf8.count
        for (name, value) in records.extendedAttributes { metadata += name.utf8.count + value.count }
        guard metadata <= metadataBudget else {
            throw LayerIndexError(
                .unsupported,
                "the layer's names, links and extended attributes pass \(metadataBudget) bytes at member \(TarPath.quoted(path)) (offset \(start))")
        }
        members.append(
            TarMember(
                path: path, kind: kind, mode: header.mode & 0o7777,
                uid: UInt32(truncatingIfNeeded: try records.integer("uid", at: start) ?? Int64(header.uid)),
                gid: UInt32(truncatingIfNeeded: try records.integer("gid", at: start) ?? Int64(header.gid)), modificationTime: time.seconds,
                modificationNanoseconds: time.nanoseconds, size: dataSize, dataOffset: dataOffset, linkTarget: linkTarget, deviceMajor: header.deviceMajor,
                deviceMinor: header.deviceMinor, extendedAttributes: records.extendedAttributes))
        let skipped = Self.padded(dataSize)
        state = skipped > 0 ? .skipping(skipped) : .header
    }
}
