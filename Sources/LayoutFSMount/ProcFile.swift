import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Whole-file reads of /proc files (their size is unknown until read: `stat` says 0).
enum ProcFile {
    /// The text of `path`, read to its end (retrying `EINTR`).
    /// - Throws: the `Errno` of `open` or `read`.
    static func text(_ path: String) throws(Errno) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
