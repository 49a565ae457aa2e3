#if canImport(Glibc)
import Glibc
#endif

/// The process's open file limit (`RLIMIT_NOFILE`).
enum FileLimit {
    /// Raises the soft limit to the hard limit (`setrlimit`), so the blob file cache and many
    /// concurrent readers do not run out of descriptors. Returns the limit now in force.
    @discardableResult
    static func raiseToHardLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(fileLimitResource, &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(fileLimitResource, &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }

    /// Glibc imports `RLIMIT_NOFILE` as an enum case of `__rlimit_resource`.
    private static var fileLimitResource: __rlimit_resource_t {
        __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    }
}
