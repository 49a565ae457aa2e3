import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A directory made under `/tmp` with `mkdtemp`, removed (recursively, symlinks not followed)
/// when `remove()` is called. Prefer `withTemporaryDirectory { path in ... }`, which removes it
/// when the body returns or throws.
public struct TemporaryDirectory: Sendable {
    /// Absolute path, e.g. `/tmp/layoutfs-test.Ab12Cd`.
    public let path: String

    /// Makes a new, empty directory `/tmp/<prefix>.XXXXXX` (mode 0700).
    /// - Throws: `TestSupportError` when `mkdtemp` fails.
    public init(prefix: String = "layoutfs-test") throws {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw TestSupportError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// `path/relative`.
    public func appending(_ relative: String) -> String { path + "/" + relative }

    /// Removes the directory and everything under it. Symlinks are removed, never followed.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a new temporary directory under `/tmp` and removes the directory
/// afterwards, whether `body` returns or throws.
/// - Returns: what `body` returns.
public func withTemporaryDirectory<Result>(
    prefix: String = "layoutfs-test", _ body: (String) throws -> Result
) throws -> Result {
    let directory = try TemporaryDirectory(prefix: prefix)
    defer { directory.remove() }
    return try body(directory.path)
}

/// The `async` form of `withTemporaryDirectory`.
public func withTemporaryDirectory<Result>(
    prefix: String = "layoutfs-test", _ body: (String) async throws -> Result
) async throws -> Result {
    let directory = try TemporaryDirectory(prefix: prefix)
    defer { directory.remove() }
    return try await body(directory.path)
}

/// A failure inside a test helper (not a failure of the code under test).
public struct TestSupportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
