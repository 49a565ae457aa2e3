import Synchronization

/// What libfuse's callbacks reach through the session's user data (`fuse_req_userdata`): one
/// object per session, owned by the ``Session``, passed unretained.
final class SessionContext: Sendable {
    let fileSystem: any FileSystem
    let configuration: FileSystemConfiguration
    /// Filled in by libfuse's `init` callback.
    let connection = Mutex<ConnectionInfo?>(nil)

    init(fileSystem: any FileSystem) {
        self.fileSystem = fileSystem
        self.configuration = fileSystem.configuration
    }
}
