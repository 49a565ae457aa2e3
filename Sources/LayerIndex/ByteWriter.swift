/// Little-endian fields appended to a byte array: the encoding of ``LayerIndexFile``.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A length (UInt32), then the bytes.
    mutating func write(bytes value: [UInt8]) {
        write(UInt32(value.count))
        bytes += value
    }

    /// A length (UInt32), then the UTF-8 bytes.
    mutating func write(_ value: String) {
        write(bytes: Array(value.utf8))
    }

    mutating func append(raw value: [UInt8]) {
        bytes += value
    }
}

/// Reads what ``ByteWriter`` wrote, refusing to read past the end.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var position: Int

    init(_ bytes: [UInt8], from position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var atEnd: Bool { position == bytes.count }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(LayerIndexError) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - position >= size else { throw Self.short }
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { target in
            bytes.withUnsafeBytes { source in target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[position..<position + size])) }
        }
        position += size
        return T(littleEndian: value)
    }

    mutating func readBytes() throws(LayerIndexError) -> [UInt8] {
        let count = Int(try read(UInt32.self))
        guard bytes.count - position >= count else { throw Self.short }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func readString() throws(LayerIndexError) -> String {
        let count = Int(try read(UInt32.self))
        guard bytes.count - position >= count else { throw Self.short }
        defer { position += count }
        return String(decoding: bytes[position..<position + count], as: UTF8.self)
    }

    private static var short: LayerIndexError { LayerIndexError(.invalidMember, "the layer index ends in the middle of a field") }
}
