import CFUSE
import SystemPackage

/// The `struct fuse_lowlevel_ops` of every session: C callbacks that find the session's
/// ``SessionContext`` through the request's user data and hand a ``Request`` to the
/// ``FileSystem``. Operations left `NULL` get libfuse's default answer.
enum LowLevelOperations {
    static func make(readdirPlus: Bool, openDirectory: Bool) -> fuse_lowlevel_ops {
        var operations = fuse_lowlevel_ops()
        operations.`init` = { userdata, connection in
            guard let userdata, let connection else { return }
            let context = Unmanaged<SessionContext>.fromOpaque(userdata).takeUnretainedValue()
            let info = LowLevelOperations.negotiate(&connection.pointee, configuration: context.configuration)
            context.connection.withLock { $0 = info }
            context.fileSystem.connectionEstablished(info)
        }
        operations.lookup = { req, parent, name in
            guard let req else { return }
            let request = Request(req)
            guard let name = name.flatMap(String.init(validatingCString:)) else {
                return request.reply(error: .noSuchFileOrDirectory)
            }
            LowLevelOperations.fileSystem(req).lookup(request, parent: parent, name: name)
        }
        operations.forget = { req, inode, lookupCount in
            guard let req else { return }
            let request = Request(req)
            LowLevelOperations.fileSystem(req).forget(inode: inode, lookupCount: lookupCount)
            request.replyNone()
        }
        operations.getattr = { req, inode, _ in
            guard let req else { return }
            LowLevelOperations.fileSystem(req).getAttributes(Request(req), inode: inode)
        }
        operations.readlink = { req, inode in
            guard let req else { return }
            LowLevelOperations.fileSystem(req).readLink(Request(req), inode: inode)
        }
        operations.open = { req, inode, info in
            guard let req else { return }
            // ENOSYS where the kernel offers FUSE_CAP_NO_OPEN_SUPPORT is success: it stops
            // sending open and release (FileSystemConfiguration.openFile false).
            if LowLevelOperations.context(req).connection.withLock({ $0?.skipsOpenFile }) == true {
                return Request(req).reply(error: .noFunction)
            }
            LowLevelOperations.fileSystem(req).open(Request(req), inode: inode, flags: info?.pointee.flags ?? 0)
        }
        operations.read = { req, inode, size, offset, info in
            guard let req else { return }
            LowLevelOperations.fileSystem(req).read(
                Request(req), inode: inode, fileHandle: info?.pointee.fh ?? 0, offset: Int64(offset),
                byteCount: size)
        }
        operations.release = { req, inode, info in
            guard let req else { return }
            LowLevelOperations.fileSystem(req).release(Request(req), inode: inode, fileHandle: info?.pointee.fh ?? 0)
        }
        // ENOSYS to opendir, where the kernel offers FUSE_CAP_NO_OPENDIR_SUPPORT, is success: it
        // stops sending opendir and releasedir, and caches listings as with FOPEN_CACHE_DIR
        // (libfuse answers success itself when no opendir is set, so one must be).
        if !openDirectory {
            operations.opendir = { req, _, _ in
                guard let req else { return }
                if LowLevelOperations.context(req).connection.withLock({ $0?.skipsOpenDirectory }) == true {
                    Request(req).reply(error: .noFunction)
                } else {
                    Request(req).reply(openDirectory: 0)
                }
            }
        } else {
            operations.opendir = { req, inode, _ in
                guard let req else { return }
                LowLevelOperations.fileSystem(req).openDirectory(Request(req), inode: inode)
            }
            operations.releasedir = { req, inode, info in
                guard let req else { return }
                LowLevelOperations.fileSystem(req).releaseDirectory(
                    Request(req), inode: inode, fileHandle: info?.pointee.fh ?? 0)
            }
        }
        operations.readdir = { req, inode, size, offset, info in
            guard let req else { return }
            LowLevelOperations.fileSystem(req).readDirectory(
                Request(req), inode: inode, fileHandle: info?.pointee.fh ?? 0, offset: Int64(offset), maxSize: size)
        }
        if readdirPlus {
            operations.readdirplus = { req, inode, size, offset, info in
                guard let req else { return }
                LowLevelOperations.fileSystem(req).readDirectoryPlus(
                    Request(req), inode: inode, fileHandle: info?.pointee.fh ?? 0, offset: Int64(offset),
                    maxSize: size)
            }
        }
        operations.statfs = { req, inode in
            guard let req else { return }
            LowLevelOperations.fileSystem(req).statistics(Request(req), inode: inode)
        }
        operations.getxattr = { req, inode, name, size in
            guard let req else { return }
            let request = Request(req)
            guard let name = name.flatMap(String.init(validatingCString:)) else {
                return request.reply(error: .noData)
            }
            LowLevelOperations.fileSystem(req).getExtendedAttribute(request, inode: inode, name: name, size: size)
        }
        operations.listxattr = { req, inode, size in
            guard let req else { return }
            LowLevelOperations.fileSystem(req).listExtendedAttributes(Request(req), inode: inode, size: size)
        }
        operations.access = { req, inode, mask in
            guard let req else { return }
            LowLevelOperations.fileSystem(req).access(Request(req), inode: inode, mask: mask)
        }
        return operations
    }

    /// The file system of the session `req` belongs to.
    private static func fileSystem(_ req: fuse_req_t) -> any FileSystem {
        context(req).fileSystem
    }

    /// The context of the session `req` belongs to.
    private static func context(_ req: fuse_req_t) -> SessionContext {
        Unmanaged<SessionContext>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    /// Applies `configuration` to the connection libfuse is about to answer `FUSE_INIT` with,
    /// asking only for capabilities the kernel offers.
    private static func negotiate(
        _ connection: inout fuse_conn_info, configuration: FileSystemConfiguration
    ) -> ConnectionInfo {
        func want(_ capability: Int32, _ wanted: Bool) {
            let bit = UInt32(capability)
            if wanted, connection.capable & bit != 0 {
                connection.want |= bit
            } else if !wanted {
                connection.want &= ~bit
            }
        }
        want(FUSE_CAP_SPLICE_WRITE, configuration.spliceWrite)
        want(FUSE_CAP_SPLICE_MOVE, configuration.spliceMove)
        connection.max_readahead = min(connection.max_readahead, UInt32(clamping: configuration.maxReadahead))
        connection.max_background = UInt32(clamping: min(configuration.maxBackground, 65535))
        return ConnectionInfo(
            protocolMajor: connection.proto_major, protocolMinor: connection.proto_minor,
            spliceWrite: connection.want & UInt32(FUSE_CAP_SPLICE_WRITE) != 0,
            readdirPlus: connection.want & UInt32(FUSE_CAP_READDIRPLUS) != 0,
            skipsOpenDirectory: !configuration.openDirectory && connection.capable & UInt32(FUSE_CAP_NO_OPENDIR_SUPPORT) != 0,
            skipsOpenFile: !configuration.openFile && connection.capable & UInt32(FUSE_CAP_NO_OPEN_SUPPORT) != 0,
            maxReadahead: Int(connection.max_readahead), maxBackground: Int(connection.max_background),
            maxRead: Int(connection.max_read))
    }
}
