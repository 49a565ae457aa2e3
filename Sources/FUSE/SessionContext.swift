import Synchronization

/// What libfuse's callbacks reach through the session's user data (`fuse_req_userdata`): one
/// object per session, owned by the ``Session``, passed unretained.
final class SessionContext: Sendable {
    let fileSystem: any FileSystem
    let configuration: FileSystemConfiguration
    /// Filled in by libfuse's `init` callback.
    let connection = Mutex<ConnectionInfo?>(nil)
    /// `FUSE_INIT` as ``CustomIO`` saw it (a session that mounted the device itself).
    let passthrough: PassthroughNegotiation

    init(fileSystem: any FileSystem) {
        self.fileSystem = fileSystem
        self.configuration = fileSystem.configuration
        passthrough = PassthroughNegotiation(wanted: fileSystem.configuration.passthrough)
    }
}
