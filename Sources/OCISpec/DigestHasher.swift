import Crypto

/// Incremental SHA-256 / SHA-512 over bytes as they stream past (swift-crypto, SHA-NI where
/// the CPU has it).
public struct DigestHasher: Sendable {
    private enum State: Sendable {
        case sha256(SHA256)
        case sha512(SHA512)
    }
    private var state: State
    /// Bytes hashed so far.
    public private(set) var byteCount: Int64 = 0

    public init(_ algorithm: Digest.Algorithm) {
        switch algorithm {
        case .sha256: state = .sha256(SHA256())
        case .sha512: state = .sha512(SHA512())
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        byteCount += Int64(bytes.count)
        switch state {
        case .sha256(var h):
            h.update(bufferPointer: bytes)
            state = .sha256(h)
        case .sha512(var h):
            h.update(bufferPointer: bytes)
            state = .sha512(h)
        }
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything hashed.
    public func finalize() -> Digest {
        let hex: String
        let algorithm: Digest.Algorithm
        switch state {
        case .sha256(let h):
            algorithm = .sha256
            hex = Self.hex(h.finalize())
        case .sha512(let h):
            algorithm = .sha512
            hex = Self.hex(h.finalize())
        }
        return try! Digest(algorithm: algorithm, encoded: hex)
    }

    /// Digest of `bytes` with `algorithm` (default sha256).
    public static func digest(of bytes: [UInt8], algorithm: Digest.Algorithm = .sha256) -> Digest {
        var hasher = DigestHasher(algorithm)
        hasher.update(bytes)
        return hasher.finalize()
    }

    private static let digits = Array("0123456789abcdef".utf8)
    private static func hex(_ digest: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
