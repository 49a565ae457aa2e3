import ContentStore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One line of `/proc/self/mountinfo` (proc(5)).
package struct MountTableEntry: Sendable, Hashable {
    /// Unique id of the mount.
    package var mountID: Int
    /// Id of the parent mount.
    package var parentID: Int
    /// `st_dev` of files in the mount, as `major:minor`.
    package var device: String
    /// The directory of the file system mounted here (usually `/`).
    package var root: String
    /// Where it is mounted, as an absolute path (unescaped).
    package var mountPoint: String
    /// Per-mount options (`ro`, `nosuid`, ...).
    package var mountOptions: String
    /// The file system type, `fuse.<subtype>` for FUSE mounts: `fuse.layoutfs` for ours.
    package var fileSystemType: String
    /// The mount source (`fsname` for FUSE).
    package var source: String
    /// Per-superblock options.
    package var superOptions: String
}

/// The mounts the calling process sees (`/proc/self/mountinfo`).
package enum MountTable {
    /// The file system type of layoutfs mounts.
    package static let layoutFSType = "fuse.layoutfs"

    /// Every mount, in mount order (later entries are mounted on top of earlier ones).
    ///
    /// - Throws: ``MountError/Code/mountTableUnreadable``.
    package static func entries() throws(MountError) -> [MountTableEntry] {
        do throws(Errno) {
            return parse(try ProcFile.text("/proc/self/mountinfo"))
        } catch {
            throw MountError(code: .mountTableUnreadable, message: "cannot read /proc/self/mountinfo (is /proc mounted?)", errno: error)
        }
    }

    /// The topmost mount whose mount point is `path` (made absolute and canonical first, without
    /// touching the last component, so a stale FUSE mount does not get in the way), or `nil`.
    ///
    /// - Throws: ``MountError/Code/mountTableUnreadable``, ``MountError/Code/invalidPath``.
    package static func entry(at path: String) throws(MountError) -> MountTableEntry? {
        let mountpoint = try canonicalMountpoint(path)
        return try entries().last { $0.mountPoint == mountpoint }
    }

    /// The file system type mounted at `path` (`fuse.layoutfs` for ours), or `nil` when `path` is
    /// not a mount point or cannot be resolved.
    package static func isMountpoint(_ path: String) -> String? {
        (try? entry(at: path))??.fileSystemType
    }

    /// Parses mountinfo text: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE
    /// SOURCE SUPEROPTIONS`, with `\NNN` octal escapes in paths.
    static func parse(_ text: String) -> [MountTableEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count >= 10, let separator = fields[6...].firstIndex(of: "-"),
                fields.count >= separator + 4, let id = Int(fields[0]), let parent = Int(fields[1])
            else { return nil }
            return MountTableEntry(
                mountID: id, parentID: parent, device: fields[2], root: unescape(fields[3]),
                mountPoint: unescape(fields[4]), mountOptions: fields[5], fileSystemType: fields[separator + 1],
                source: unescape(fields[separator + 2]), superOptions: fields[separator + 3])
        }
    }

    /// Undoes the kernel's `\NNN` (octal) escapes of space, tab, newline and backslash.
    static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count {
                let digits = utf8[(index + 1)...(index + 3)]
                if digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) {
                    let value = digits.reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
                    if value < 256 {
                        bytes.append(UInt8(value))
                        index += 4
                        continue
                    }
                }
            }
            bytes.append(utf8[index])
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `path` as the kernel writes mount points: absolute, every symlink resolved (the kernel
    /// mounts on a symlink's target, so `mnt-link` and `mnt` name one mount point), no trailing
    /// `/`. The parent is resolved with `realpath`; the last component only with `readlink`,
    /// never `stat`: a stat of a mount point reaches its file system, which blocks on a FUSE
    /// daemon that is stopped or not yet started and fails with `ENOTCONN` on a stale one.
    /// (`CanonicalPath`'s `.mountPoint` resolution.)
    ///
    /// - Throws: ``MountError/Code/invalidPath`` when the parent directory does not resolve, or
    ///   symlinks loop (more than 40).
    package static func canonicalMountpoint(_ path: String) throws(MountError) -> String {
        let absolute: String
        do {
            absolute = try CanonicalPath.absolute(path)
        } catch {
            throw MountError(code: .invalidPath, message: "cannot resolve \(path): no working directory", errno: error)
        }
        do {
            return try CanonicalPath.of(absolute, resolving: .mountPoint)
        } catch .tooManySymbolicLinkLevels {
            throw MountError(code: .invalidPath, message: "cannot resolve \(path): too many levels of symbolic links", errno: .tooManySymbolicLinkLevels)
        } catch {
            throw MountError(code: .invalidPath, message: "cannot resolve \(path)", errno: error)
        }
    }
}
