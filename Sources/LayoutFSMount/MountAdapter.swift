import FUSE
import LayoutFS
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Serves a ``LayoutTree`` through FUSE: every FUSE operation becomes a tree call, every
/// `LayoutFSError` an errno (`LayoutFSError.Code.errno`, the one table).
///
/// - Names and attributes are cached by the kernel for ``CacheTimeouts`` (long for immutable
///   nodes, short for `index.json`); blob opens keep the page cache (`keep_cache`).
/// - Reads are answered by splicing from the blob's file descriptor (`fuse_reply_data`), or
///   with bytes; a read the tree completes later is parked and answered from its completion.
/// - Extended attributes are answered by name and never listed.
package final class MountAdapter: FileSystem {
    /// The tree served.
    package let tree: any ServedTree
    let logger: Logger
    let timeouts: CacheTimeouts
    let owner: (userID: UInt32, groupID: UInt32)
    let directories = DirectoryHandles()
    let parents = DirectoryParents()
    let parkedReads: ParkedReads
    let counters: MountCounters
    /// Whether the session is asked to negotiate FUSE passthrough.
    let passthrough: Bool
    /// The backing files of passthrough opens.
    let backing: BackingFiles

    /// - Parameters:
    ///   - tree: the file system model.
    ///   - timeouts: kernel cache lifetimes.
    ///   - readDeadline: longest wait of a read for its bytes; then `EIO`.
    ///   - logger: receives I/O errors and the negotiated connection.
    ///   - passthrough: negotiate FUSE passthrough (``FileSystemConfiguration/passthrough``).
    ///   - backingFileLimit: most inodes with a backing file at once (``BackingFiles``).
    package init(
        tree: any ServedTree, timeouts: CacheTimeouts = CacheTimeouts(), readDeadline: Duration = .seconds(30), logger: Logger, passthrough: Bool = false,
        backingFileLimit: Int = 4096
    ) {
        self.tree = tree
        self.passthrough = passthrough
        self.backing = BackingFiles(limit: backingFileLimit, logger: logger)
        let counters = MountCounters()
        self.counters = counters
        self.parkedReads = ParkedReads(deadline: readDeadline) { [tree] inode in
            MountCounters.add(counters.errors)
            let why = tree.readTimedOut(inode: inode, after: readDeadline)
            logger.warning("a read waited \(readDeadline.components.seconds) s for its bytes and got EIO: \(why)")
        }
        self.timeouts = timeouts
        self.logger = logger
        self.owner = (getuid(), getgid())
    }

    /// Splice reads, 1 MiB readahead, 64 background requests, `readdirplus`; no `opendir` for a
    /// tree whose directories never change (half the requests of a `find`).
    package var configuration: FileSystemConfiguration {
        FileSystemConfiguration(
            spliceWrite: true, maxReadahead: 1 << 20, maxBackground: 64, readdirPlus: true, openDirectory: !tree.directoriesAreImmutable,
            openFile: !tree.opensAreStateless, passthrough: passthrough)
    }

    package func connectionEstablished(_ info: ConnectionInfo) {
        logger.debug(
            "FUSE connection established",
            metadata: [
                "protocol": "\(info.protocolMajor).\(info.protocolMinor)", "splice": "\(info.spliceWrite)",
                "readdirplus": "\(info.readdirPlus)", "max_readahead": "\(info.maxReadahead)",
            ])
    }

    package func lookup(_ request: consuming Request, parent: UInt64, name: String) {
        do {
            let attributes = try tree.lookup(parent: parent, name: name)
            if attributes.kind == .directory {
                parents.record(directory: attributes.inode, parent: parent)
            }
            request.reply(entry: entry(attributes))
        } catch {
            fail(request, error, "lookup \(name) in \(parent)")
        }
    }

    package func getAttributes(_ request: consuming Request, inode: UInt64) {
        do {
            let attributes = try tree.attributes(of: inode)
            request.reply(attributes: fileAttributes(attributes), timeout: timeout(for: attributes.inode))
        } catch {
            fail(request, error, "getattr \(inode)")
        }
    }

    package func open(_ request: consuming Request, inode: UInt64, flags: Int32) {
        do {
            let handle = try tree.open(inode)
            let keepCache = tree.keepsCache(inode) && tree.keepsPages(handle: handle)
            if passthrough, let id = backing.open(inode: inode, handle: handle, file: tree.backingFile(handle: handle)) {
                MountCounters.add(counters.passthroughOpens)
                return request.reply(open: handle, backingID: id)
            }
            request.reply(open: handle, keepCache: keepCache)
        } catch {
            MountCounters.add(counters.errors)
            fail(request, error, "open \(inode)")
        }
    }

    package func release(_ request: consuming Request, inode: UInt64, fileHandle: UInt64) {
        if passthrough { backing.release(handle: fileHandle) }
        tree.release(handle: fileHandle)
        request.replySuccess()
    }

    package func getExtendedAttribute(_ request: consuming Request, inode: UInt64, name: String, size: Int) {
        if inode == LayoutTree.rootInode, let value = counters.attributes(bytesFetched: tree.bytesFetched, backingFiles: backing.held)[name] {
            return request.reply(xattrValue: Array(String(value).utf8), requestedSize: size)
        }
        do {
            var value = try tree.extendedAttribute(of: inode, name: name)
            if name == "user.layoutfs.state", value == Array("local".utf8), passthrough, backing.active {
                value = Array("local (passthrough)".utf8)
            }
            request.reply(xattrValue: value, requestedSize: size)
        } catch {
            fail(request, error, "getxattr \(name) of \(inode)")
        }
    }

    /// The tree's names (`user.layoutfs.*` attributes are answered by name only, so `cp -a`,
    /// `rsync -X` and `tar --xattrs` never copy them).
    package func listExtendedAttributes(_ request: consuming Request, inode: UInt64, size: Int) {
        do {
            request.reply(xattrNames: try tree.extendedAttributeNames(of: inode), requestedSize: size)
        } catch {
            fail(request, error, "listxattr \(inode)")
        }
    }

    package func readLink(_ request: consuming Request, inode: UInt64) {
        do {
            request.reply(link: try tree.linkTarget(of: inode))
        } catch {
            fail(request, error, "readlink \(inode)")
        }
    }

    /// `R_OK` and `X_OK` against the permission bits (only asked without `default_permissions`;
    /// the kernel answers `W_OK` with `EROFS` itself on this read-only mount): the "other" bits
    /// for the layout's nodes (owned by the mounting user); for a rootfs view's, the owner's,
    /// group's or other bits as the caller is, and root may read anything and run what has an
    /// execute bit, as on a real filesystem.
    package func access(_ request: consuming Request, inode: UInt64, mask: Int32) {
        do {
            let attributes = try tree.attributes(of: inode)
            let wanted = UInt32(mask) & 0o7
            if wanted & UInt32(W_OK) != 0 { return request.reply(error: .readOnlyFileSystem) }
            let allowed: UInt32
            if let owner = attributes.owner {
                let caller = request.caller
                if caller.userID == 0 {
                    allowed = UInt32(R_OK) | (attributes.permissions & 0o111 != 0 || attributes.kind == .directory ? UInt32(X_OK) : 0)
                } else if caller.userID == owner.userID {
                    allowed = attributes.permissions >> 6 & 0o7
                } else if caller.groupID == owner.groupID {
                    allowed = attributes.permissions >> 3 & 0o7
                } else {
                    allowed = attributes.permissions & 0o7
                }
            } else {
                allowed = attributes.permissions & 0o7
            }
            if wanted & ~allowed != 0 {
                request.reply(error: .permissionDenied)
            } else {
                request.replySuccess()
            }
        } catch {
            fail(request, error, "access \(inode)")
        }
    }

    // MARK: Conversions

    func timeout(for inode: UInt64) -> Duration {
        tree.keepsCache(inode) ? timeouts.immutable : timeouts.mutable
    }

    func fileAttributes(_ attributes: NodeAttributes) -> FileAttributes {
        let (userID, groupID) = attributes.owner ?? owner
        return FileAttributes(
            inode: attributes.inode, kind: FileKind(attributes.kind), permissions: attributes.permissions, linkCount: attributes.linkCount,
            size: attributes.size, userID: userID, groupID: groupID, modificationTime: attributes.modificationTime,
            modificationNanoseconds: attributes.modificationNanoseconds,
            deviceNumber: Self.deviceNumber(major: attributes.device.major, minor: attributes.device.minor))
    }

    func entry(_ attributes: NodeAttributes) -> EntryReply {
        let timeout = timeout(for: attributes.inode)
        return EntryReply(attributes: fileAttributes(attributes), entryTimeout: timeout, attributeTimeout: timeout)
    }

    /// `makedev(3)` as glibc encodes it (a macro Swift cannot call).
    static func deviceNumber(major: UInt32, minor: UInt32) -> UInt64 {
        let major = UInt64(major)
        let minor = UInt64(minor)
        return (major & 0xfff) << 8 | (major & ~0xfff) << 32 | (minor & 0xff) | (minor & ~0xff) << 12
    }

    /// Answers with the errno of `error`, logging errors that are not routine.
    func fail(_ request: consuming Request, _ error: LayoutFSError, _ operation: @autoclosure () -> String) {
        if !error.code.isRoutine {
            logger.error("\(operation()) failed: \(error)")
        }
        request.reply(error: Errno(rawValue: error.errno))
    }
}

extension FileKind {
    init(_ kind: NodeKind) {
        switch kind {
        case .directory: self = .directory
        case .regularFile: self = .regularFile
        case .symbolicLink: self = .symbolicLink
        case .characterDevice: self = .characterDevice
        case .blockDevice: self = .blockDevice
        case .fifo: self = .fifo
        }
    }
}
