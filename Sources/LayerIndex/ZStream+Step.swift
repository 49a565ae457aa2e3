import CZlib

extension z_stream {
    /// One `inflate` call over `input[from...]` into `output` with `flush` (`Z_NO_FLUSH`, or
    /// `Z_BLOCK` to stop at a deflate block's end): zlib's code, the input bytes it used and the
    /// output bytes it made.
    mutating func inflateStep(_ input: [UInt8], from start: Int, into output: inout [UInt8], flush: Int32) -> (code: Int32, used: Int, made: Int) {
        let code: Int32 = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                next_in = UnsafeMutablePointer(mutating: source.baseAddress! + start)
                avail_in = uInt(source.count - start)
                next_out = target.baseAddress
                avail_out = uInt(target.count)
                return inflate(&self, flush)
            }
        }
        return (code, (input.count - start) - Int(avail_in), output.count - Int(avail_out))
    }
}
