import SystemPackage

extension Errno {
    /// The `Errno` a swift-system call threw: `FileDescriptor`'s calls throw nothing else (and
    /// retry `EINTR` themselves); `.ioError` for any other error.
    package init(thrownBy error: any Error) {
        self = error as? Errno ?? .ioError
    }
}
