/// One member of a layer's tar stream as the index keeps it: where its data lies in the
/// uncompressed stream and everything `umoci unpack` would give the file (POSIX.1-2001 pax
/// interchange format and ustar, with the GNU long-name extensions; OCI image-spec
/// layer.md "Changesets").
package struct TarMember: Sendable, Equatable {
    /// The member's type (ustar typeflag).
    package enum Kind: UInt8, Sendable, Equatable {
        /// `0`, `\0` or `7` (contiguous): a regular file with data.
        case file
        /// `5`, or an old-style name ending in `/`.
        case directory
        /// `2`: ``TarMember/linkTarget`` as written, never followed.
        case symlink
        /// `1`: another path of the same file, ``TarMember/linkTarget`` normalized.
        case hardlink
        /// `3`.
        case characterDevice
        /// `4`.
        case blockDevice
        /// `6`.
        case fifo
    }

    /// The path relative to the layer's root: no leading `/` or `./`, no `.` or `..`
    /// components, no trailing `/` (``TarPath/normalized(_:)``).
    package var path: String
    package var kind: Kind
    /// Permission bits with setuid, setgid and sticky (`07777`).
    package var mode: UInt32
    package var uid: UInt32
    package var gid: UInt32
    /// Modification time: seconds since the epoch, and the nanoseconds a PAX `mtime` adds.
    package var modificationTime: Int64
    package var modificationNanoseconds: UInt32
    /// Bytes of data (0 for every kind but ``Kind/file``).
    package var size: Int64
    /// Offset of the data in the uncompressed stream, in bytes.
    package var dataOffset: Int64
    /// A symlink's target as written, or a hard link's target path (normalized).
    package var linkTarget: String?
    /// A device's major and minor numbers.
    package var deviceMajor: UInt32
    package var deviceMinor: UInt32
    /// Extended attributes from PAX `SCHILY.xattr.NAME` records (`user.*`,
    /// `security.capability`, ...), by name.
    package var extendedAttributes: [String: [UInt8]]

    package init(
        path: String, kind: Kind, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0, modificationTime: Int64 = 0,
        modificationNanoseconds: UInt32 = 0, size: Int64 = 0, dataOffset: Int64 = 0, linkTarget: String? = nil, deviceMajor: UInt32 = 0,
        deviceMinor: UInt32 = 0, extendedAttributes: [String: [UInt8]] = [:]
    ) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.modificationTime = modificationTime
        self.modificationNanoseconds = modificationNanoseconds
        self.size = size
        self.dataOffset = dataOffset
        self.linkTarget = linkTarget
        self.deviceMajor = deviceMajor
        self.deviceMinor = deviceMinor
        self.extendedAttributes = extendedAttributes
    }
}

extension TarMember {
    /// Appends the member's fields to an index file's body (``LayerIndexRecord``).
    func encode(into writer: inout ByteWriter) {
        writer.write(path)
        writer.write(kind.rawValue)
        writer.write(mode)
        writer.write(uid)
        writer.write(gid)
        writer.write(modificationTime)
        writer.write(modificationNanoseconds)
        writer.write(size)
        writer.write(dataOffset)
        writer.write(UInt8(linkTarget == nil ? 0 : 1))
        if let linkTarget { writer.write(linkTarget) }
        writer.write(deviceMajor)
        writer.write(deviceMinor)
        writer.write(UInt32(extendedAttributes.count))
        for (name, value) in extendedAttributes.sorted(by: { $0.key < $1.key }) {
            writer.write(name)
            writer.write(bytes: value)
        }
    }

    /// Reads a member ``encode(into:)`` wrote.
    /// - Throws: ``LayerIndexError/Code/invalidMember`` for a field that is cut short or out of range.
    init(decoding reader: inout ByteReader) throws(LayerIndexError) {
        path = try reader.readString()
        guard let kind = Kind(rawValue: try reader.read(UInt8.self)) else {
            throw LayerIndexError(.invalidMember, "a member of the layer index has an unknown type")
        }
        self.kind = kind
        mode = try reader.read()
        uid = try reader.read()
        gid = try reader.read()
        modificationTime = try reader.read()
        modificationNanoseconds = try reader.read()
        size = try reader.read()
        dataOffset = try reader.read()
        linkTarget = try reader.read(UInt8.self) == 0 ? nil : try reader.readString()
        deviceMajor = try reader.read()
        deviceMinor = try reader.read()
        let count = Int(try reader.read(UInt32.self))
        var attributes: [String: [UInt8]] = [:]
        for _ in 0..<count { attributes[try reader.readString()] = try reader.readBytes() }
        extendedAttributes = attributes
    }
}
