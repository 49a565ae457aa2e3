import ContentStore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads of /proc files (their size is unknown until read: `stat` says 0).
enum ProcFile {
    /// The text of `path`, read to its end (swift-system's `open` and `read`, retrying `EINTR`).
    /// - Throws: the `Errno` of `open` or `read`.
    static func text(_ path: String) throws(Errno) -> String {
        do {
            let fd = try FileDescriptor.open(FilePath(path), .readOnly, options: .closeOnExec)
            defer { try? fd.close() }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
                if count == 0 { break }
                bytes.append(contentsOf: chunk[0..<count])
            }
            return String(decoding: bytes, as: UTF8.self)
        } catch {
            throw Errno(thrownBy: error)
        }
    }
}
