import CIsal
import OCISpec

/// What indexing one layer blob gives, and what the store keeps of it (keyed by the blob's
/// digest, shared by every image and mount that uses the layer): its member table, its diff_id
/// (verified against the image config before it is kept), and for gzip the access points that
/// let any range of the uncompressed stream be read from the nearest one.
package struct LayerIndexRecord: Sendable, Equatable {
    /// How the layer blob is stored.
    package enum Format: UInt8, Sendable, Equatable {
        /// Plain tar: a member's data is read from the blob at its offset.
        case tar = 0
        /// Gzip: read through ``GzipRandomAccess`` from ``LayerIndexRecord/accessPoints``.
        case gzip = 1
        /// Compressed so that no access point can be kept (zstd): read from an uncompressed
        /// copy of the layer kept beside the index.
        case uncompressedCopy = 2
    }

    /// The layer blob's digest.
    package var layer: Digest
    /// The SHA-256 of the uncompressed stream (image-spec config.md `rootfs.diff_ids`).
    package var diffID: Digest
    package var format: Format
    /// Bytes of the blob, and of its uncompressed stream.
    package var compressedSize: Int64
    package var uncompressedSize: Int64
    package var members: [TarMember]
    /// Access points, in order (gzip only).
    package var accessPoints: [GzipAccessPoint]

    package init(
        layer: Digest, diffID: Digest, format: Format, compressedSize: Int64, uncompressedSize: Int64, members: [TarMember],
        accessPoints: [GzipAccessPoint]
    ) {
        self.layer = layer
        self.diffID = diffID
        self.format = format
        self.compressedSize = compressedSize
        self.uncompressedSize = uncompressedSize
        self.members = members
        self.accessPoints = accessPoints
    }

    // MARK: The file

    /// The first bytes of an index file.
    static let magic = Array("LFSLAYIX".utf8)
    /// Bumped whenever the encoding changes; a file of another version is rebuilt.
    static let version: UInt32 = 1

    /// The file's bytes: magic, version, the size of ISA-L's state head (access points are
    /// valid only for that layout of the library's state), the body's raw length, the body
    /// gzip-compressed (ISA-L level 1), and the SHA-256 of everything before it (64 hex digits).
    package func encoded() throws(LayerIndexError) -> [UInt8] {
        var body = ByteWriter()
        body.write(layer.description)
        body.write(diffID.description)
        body.write(format.rawValue)
        body.write(compressedSize)
        body.write(uncompressedSize)
        body.write(UInt32(members.count))
        for member in members { member.encode(into: &body) }
        body.write(UInt32(accessPoints.count))
        for point in accessPoints {
            body.write(point.uncompressed)
            body.write(point.compressed)
            body.write(bytes: point.state)
        }
        let raw = body.bytes
        let capacity = raw.count + raw.count / 8 + 1024
        var compressed = [UInt8](repeating: 0, count: capacity)
        let written = raw.withUnsafeBufferPointer { source in
            compressed.withUnsafeMutableBufferPointer { lfs_isal_gzip(source.baseAddress, source.count, $0.baseAddress, capacity) }
        }
        guard written >= 0 else { throw LayerIndexError(.invalidMember, "ISA-L could not compress the layer index") }
        var file = ByteWriter()
        file.append(raw: Self.magic)
        file.write(Self.version)
        file.write(UInt32(lfs_isal_state_head()))
        file.write(UInt64(raw.count))
        file.write(bytes: Array(compressed[0..<written]))
        var hasher = DigestHasher(.sha256)
        hasher.update(file.bytes)
        file.append(raw: Array(hasher.finalize().encoded.utf8))
        return file.bytes
    }

    /// Reads an index file written by ``encoded()``.
    /// - Throws: ``LayerIndexError/Code/invalidMember`` for a file that is damaged (its
    ///   checksum), of another version, or written with another layout of ISA-L's state.
    package init(decoding file: [UInt8]) throws(LayerIndexError) {
        guard file.count > Self.magic.count + 64, Array(file[0..<Self.magic.count]) == Self.magic else {
            throw LayerIndexError(.invalidMember, "not a layer index file")
        }
        var hasher = DigestHasher(.sha256)
        hasher.update(Array(file[..<(file.count - 64)]))
        guard Array(hasher.finalize().encoded.utf8) == Array(file[(file.count - 64)...]) else {
            throw LayerIndexError(.invalidMember, "the layer index file is damaged (its checksum does not match)")
        }
        var header = ByteReader(Array(file[..<(file.count - 64)]), from: Self.magic.count)
        let version = try header.read(UInt32.self)
        guard version == Self.version else { throw LayerIndexError(.invalidMember, "the layer index file is version \(version), not \(Self.version)") }
        guard try header.read(UInt32.self) == UInt32(lfs_isal_state_head()) else {
            throw LayerIndexError(.invalidMember, "the layer index file was written with another version of ISA-L")
        }
        let rawCount = try header.read(UInt64.self)
        let compressed = try header.readBytes()
        guard header.atEnd, rawCount < 1 << 32 else { throw LayerIndexError(.invalidMember, "the layer index file's header is malformed") }
        var raw = [UInt8](repeating: 0, count: Int(rawCount))
        let inflated = compressed.withUnsafeBufferPointer { source in
            raw.withUnsafeMutableBufferPointer { lfs_isal_gunzip(source.baseAddress, source.count, $0.baseAddress, $0.count) }
        }
        guard inflated == 0 else { throw LayerIndexError(.invalidMember, "the layer index file's body does not decompress") }
        var body = ByteReader(raw)
        guard let layer = try? Digest(parsing: try body.readString()), let diffID = try? Digest(parsing: try body.readString()),
            let format = Format(rawValue: try body.read(UInt8.self))
        else { throw LayerIndexError(.invalidMember, "the layer index file names no valid layer") }
        self.layer = layer
        self.diffID = diffID
        self.format = format
        compressedSize = try body.read(Int64.self)
        uncompressedSize = try body.read(Int64.self)
        let memberCount = Int(try body.read(UInt32.self))
        members = []
        members.reserveCapacity(min(memberCount, 1 << 20))
        for _ in 0..<memberCount { members.append(try TarMember(decoding: &body)) }
        let pointCount = Int(try body.read(UInt32.self))
        accessPoints = []
        for _ in 0..<pointCount {
            accessPoints.append(
                GzipAccessPoint(uncompressed: try body.read(Int64.self), compressed: try body.read(Int64.self), state: try body.readBytes()))
        }
        guard body.atEnd else { throw LayerIndexError(.invalidMember, "the layer index file has bytes after its access points") }
    }
}
