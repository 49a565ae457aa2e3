import LayoutFS
import SystemPackage

/// The one place where filesystem-model errors become the errno a FUSE reply carries. The
/// table itself is `LayoutFSError.Code.errno` (every storage failure, `EMFILE` included, is
/// `EIO`); this adds the FUSE type and a floor for codes the table does not know.
enum ErrnoMapping {
    static func errno(for error: LayoutFSError) -> Errno {
        let value = error.errno
        return value > 0 ? Errno(rawValue: value) : .ioError
    }

    /// Whether an error is worth a log line: lookups of absent names are routine, I/O errors not.
    static func isRoutine(_ error: LayoutFSError) -> Bool {
        error.code == .notFound || error.code == .noAttribute || error.code == .notDirectory
            || error.code == .isDirectory || error.code == .interrupted
    }
}
