import ContentStore
import FUSE
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The backing files of FUSE passthrough opens: one backing id per inode while any open of it
/// reads through it (`FUSE_DEV_IOC_BACKING_OPEN`, closed when its last open is released; the
/// kernel drops every one when the mount ends). The kernel's rule is kept: an inode is never
/// open in passthrough and in cached mode at once (fs/fuse/iomode.c answers the open that
/// would mix them `ETXTBSY`), so a blob that became local while opens of it read through the
/// daemon is opened that way until they are released.
final class BackingFiles: Sendable {
    private struct Inode {
        var backingID: Int32?
        /// The file the backing id was registered from (the kernel reads it while the id lives).
        var registered: BlobFile?
        /// The store file whose bytes were last written into `registered` (it replaced it).
        var rewrittenFrom: FileIdentity?
        var passthroughOpens = 0
        var cachedOpens = 0
    }

    private struct State {
        var inodes: [UInt64: Inode] = [:]
        /// Open handles: their inode, and whether they are in passthrough mode.
        var handles: [UInt64: (inode: UInt64, passthrough: Bool)] = [:]
        /// Why no open uses passthrough any more (the kernel refused it for this mount).
        var disabled: String?
        /// Inodes with a backing id now.
        var backed = 0
    }

    /// Most inodes with a backing file at once (each holds a file open in the kernel); beyond
    /// it opens read through the daemon.
    let limit: Int
    private let state = Mutex(State())
    private let session = Mutex<WeakSession>(WeakSession())
    private let logger: Logger

    init(limit: Int = 4096, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    /// The session whose device registers backing files (weak: the session owns the adapter).
    func attach(_ session: Session) {
        self.session.withLock { $0.session = session }
    }

    /// Whether opens of local blobs use passthrough now: negotiated, and not refused since.
    var active: Bool {
        guard let session = session.withLock({ $0.session }), session.passthrough else { return false }
        return state.withLock { $0.disabled == nil }
    }

    /// How many inodes have a backing id now (0 once every passthrough open is released: the
    /// kernel sends a release after close(2) returns, so tests wait for this).
    var held: Int { state.withLock { $0.backed } }

    /// Records an open of `inode` as `handle` and says how to answer it: with the backing id
    /// (passthrough) when `file` is given, passthrough is negotiated, no open of the inode
    /// reads through the daemon and the kernel takes the file; else nil (answer it cached).
    func open(inode: UInt64, handle: UInt64, file: BlobFile?) -> Int32? {
        let session = self.session.withLock { $0.session }
        return state.withLock { state -> Int32? in
            var entry = state.inodes[inode] ?? Inode()
            defer { state.inodes[inode] = entry }
            var id: Int32?
            if let file, let session, session.passthrough, state.disabled == nil, entry.cachedOpens == 0 {
                if let existing = entry.backingID {
                    Self.catchUp(&entry, with: file, logger: logger)
                    id = existing
                } else if state.backed < limit {
                    do throws(FUSEError) {
                        id = try session.openBacking(file.fileDescriptor)
                        entry.backingID = id
                        entry.registered = file
                        state.backed += 1
                    } catch {
                        refused(error, &state)
                    }
                }
            }
            if id != nil {
                entry.passthroughOpens += 1
            } else {
                entry.cachedOpens += 1
            }
            state.handles[handle] = (inode, id != nil)
            return id
        }
    }

    /// `handle` was released: its inode's backing id is closed with its last passthrough open.
    func release(handle: UInt64) {
        let session = self.session.withLock { $0.session }
        state.withLock { state in
            guard let (inode, passthrough) = state.handles.removeValue(forKey: handle), var entry = state.inodes[inode] else { return }
            if passthrough { entry.passthroughOpens -= 1 } else { entry.cachedOpens -= 1 }
            if entry.passthroughOpens == 0, let id = entry.backingID {
                session?.closeBacking(id)
                entry.backingID = nil
                (entry.registered, entry.rewrittenFrom) = (nil, nil)
                state.backed -= 1
            }
            state.inodes[inode] = entry.passthroughOpens == 0 && entry.cachedOpens == 0 ? nil : entry
        }
    }

    /// An open of an inode whose backing id was registered from a file the store has since
    /// replaced (`check --repair` committed the blob anew): the kernel keeps one backing file
    /// per inode while it has passthrough opens (fs/fuse/iomode.c answers another `EBUSY`), so
    /// before this open reads through it, the old file gets the new one's bytes (once per new
    /// file; the mount's once-a-second repoint does the same for opens that came before).
    private static func catchUp(_ entry: inout Inode, with file: BlobFile, logger: Logger) {
        // The same open file (the store's file cache hands out one per blob): nothing replaced,
        // and no fstat on this open.
        guard let registered = entry.registered, registered !== file, let fresh = file.identity, fresh != registered.identity,
            entry.rewrittenFrom != fresh
        else { return }
        do throws(ContentStoreError) {
            if try registered.overwriteUnlinked(withContentsOf: file) { entry.rewrittenFrom = fresh }
        } catch {
            logger.error("cannot write a repaired blob into the file its passthrough opens read: \(error)")
        }
    }

    /// Registers and at once forgets a backing file for the daemon's own executable, to learn
    /// before any open whether the kernel takes backing files from this process (it wants
    /// CAP_SYS_ADMIN in the initial user namespace, which a mount in a user namespace lacks); a
    /// refusal for want of the right (EPERM) turns passthrough off as a refused open would,
    /// without a log line of its own.
    /// - Returns: why passthrough is off for this mount, or nil when backing files are taken.
    func probe() -> String? {
        guard let session = session.withLock({ $0.session }), session.passthrough else { return nil }
        let fd = Glibc.open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }  // nothing learned: the first open will tell
        defer { close(fd) }
        do throws(FUSEError) {
            session.closeBacking(try session.openBacking(fd))
            return nil
        } catch {
            // Only the want of the right holds for every file; the store's files may be taken
            // where this one (on another file system) is not.
            guard error.errno == .notPermitted else { return nil }
            return state.withLock { state in
                disable(error, &state)
                return state.disabled
            }
        }
    }

    /// The kernel refused a backing file: for want of the right (EPERM: no CAP_SYS_ADMIN in the
    /// initial user namespace) or of passthrough itself, no open will get one; said once.
    private func refused(_ error: FUSEError, _ state: inout State) {
        if disable(error, &state) {
            logger.notice("FUSE passthrough is off from now on (\(state.disabled ?? "")): reads go through the daemon")
        }
    }

    /// Records why passthrough is off; true the first time.
    @discardableResult
    private func disable(_ error: FUSEError, _ state: inout State) -> Bool {
        guard state.disabled == nil else { return false }
        state.disabled = error.errno == .notPermitted ? "\(error) (no CAP_SYS_ADMIN in the initial user namespace)" : "\(error)"
        return true
    }
}

/// A session held weakly.
private struct WeakSession: @unchecked Sendable {
    weak var session: Session?
}
