import ArgumentParser

/// `mount --passthrough`: whether the mount negotiates FUSE passthrough.
enum PassthroughMode: String, ExpressibleByArgument, CaseIterable {
    /// Negotiate it where the kernel and this process can (root, Linux 6.9+), else fall back.
    case auto
    /// Mount through libfuse as before passthrough existed; every read reaches the daemon.
    case off
}
