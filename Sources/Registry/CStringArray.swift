#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with a NULL-terminated C array of `strings` (an `argv` or `envp` for
/// `posix_spawn` and `execve`), each copied with `strdup` and freed when `body` returns. The
/// pointers must not escape `body`.
package func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
