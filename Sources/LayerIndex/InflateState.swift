import CIsal

/// One ISA-L inflate state (igzip_lib.h `struct inflate_state`, about 85 KiB) on the heap, set
/// up for gzip members (RFC 1952: header, deflate data, CRC-32 and length checked at the end).
/// The whole state can be saved at any return of `isal_inflate` and restored later
/// (``GzipAccessPoint``): it holds the Huffman tables of the current block, the unread bits and
/// the last 32 KiB of output.
final class InflateState {
    let pointer: UnsafeMutablePointer<inflate_state>

    /// A fresh state at the start of a gzip member.
    init() {
        pointer = .allocate(capacity: 1)
        isal_inflate_init(pointer)
        pointer.pointee.crc_flag = UInt32(ISAL_GZIP)
    }

    /// A state restored from a checkpoint (``checkpoint()``); a fresh one for an empty checkpoint.
    /// - Throws: ``LayerIndexError/Code/invalidMember`` for bytes that cannot be a checkpoint.
    convenience init(restoring checkpoint: [UInt8]) throws(LayerIndexError) {
        self.init()
        guard !checkpoint.isEmpty else { return }
        let restored = checkpoint.withUnsafeBufferPointer { lfs_isal_restore(pointer, $0.baseAddress, $0.count) }
        guard restored == 0 else { throw LayerIndexError(.invalidMember, "a gzip access point of \(checkpoint.count) bytes is not a decompressor state") }
    }

    deinit { pointer.deallocate() }

    /// Starts the next gzip member.
    func reset() {
        isal_inflate_reset(pointer)
    }

    /// True once the member's deflate data and trailer are read (and the trailer matched).
    var atMemberEnd: Bool { pointer.pointee.block_state == ISAL_BLOCK_FINISH }

    /// True inside a member's deflate data, after its header: where a checkpoint can be taken
    /// (ISA-L keeps a partly read gzip header outside the state).
    var inDeflateData: Bool {
        let state = pointer.pointee
        guard state.wrapper_flag != 0 else { return false }
        switch state.block_state {
        case ISAL_BLOCK_NEW_HDR, ISAL_BLOCK_HDR, ISAL_BLOCK_TYPE0, ISAL_BLOCK_CODED: return true
        default: return false
        }
    }

    /// The state's bytes now, for ``init(restoring:)``.
    func checkpoint() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: lfs_isal_checkpoint_size(pointer)) { buffer, count in
            lfs_isal_save(pointer, buffer.baseAddress)
            count = buffer.count
        }
    }

    /// One `isal_inflate` call over `input[start...]` (at most `limit` bytes of it) into
    /// `output`: ISA-L's code, the input bytes it took and the output bytes it made.
    func step(
        _ input: UnsafeRawBufferPointer, from start: Int, limit: Int = .max, into output: UnsafeMutableRawBufferPointer
    ) -> (code: Int32, used: Int, made: Int) {
        let available = min(input.count - start, limit)
        pointer.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + start })
        pointer.pointee.avail_in = UInt32(available)
        pointer.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        pointer.pointee.avail_out = UInt32(output.count)
        let code = isal_inflate(pointer)
        let used = available - Int(pointer.pointee.avail_in)
        let made = output.count - Int(pointer.pointee.avail_out)
        pointer.pointee.next_in = nil
        pointer.pointee.next_out = nil
        return (code, used, made)
    }

    /// What ISA-L's inflate error code means.
    static func describe(_ code: Int32) -> String {
        switch code {
        case ISAL_INVALID_BLOCK: "an invalid deflate block"
        case ISAL_INVALID_SYMBOL: "an invalid deflate symbol"
        case ISAL_INVALID_LOOKBACK: "a back reference before the start"
        case ISAL_INVALID_WRAPPER: "not a gzip header"
        case ISAL_UNSUPPORTED_METHOD: "a compression method other than deflate"
        case ISAL_INCORRECT_CHECKSUM: "a CRC or length that does not match its data"
        default: "ISA-L error \(code)"
        }
    }
}
