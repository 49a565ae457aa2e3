import ContentStore
import Dispatch
import Foundation
import Logging
import OCISpec
import Registry
import Synchronization
import TestSupport
import Testing

@testable import ImageStore
@testable import LazyBlobs

#if canImport(Glibc)
import Glibc
#endif

/// The lazy blob provider without a mount: sources looked up ahead so that an open (a FUSE
/// thread) reads nothing from meta.db, one blob per digest however many open it at once, and a
/// shutdown that ends the fetches under way.
@Suite("lazy blobs: the provider")
struct LazyBlobProviderTests {
    static func layer(_ text: String) -> Descriptor {
        let bytes = Array(text.utf8)
        return Descriptor(mediaType: .ociLayerGzip, digest: DigestHasher.digest(of: bytes), size: Int64(bytes.count))
    }

    /// Runs `body` with a store, a registry client (to `port` on 127.0.0.1 when a fetch is
    /// wanted) and a provider, which is shut down afterwards.
    static func withProvider(
        registryPort: Int = 1, _ body: (Store, LazyBlobProvider, BlobSource) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { tmp in
            let store = try Store.open(root: tmp + "/store")
            let source = BlobSource(domain: "127.0.0.1:\(registryPort)", repository: "team/app")
            let configuration = RegistryConfiguration(readTimeout: .seconds(3600), retries: 0)
            try await RegistryClient.with(configuration: configuration, credentials: AnonymousCredentials()) { client in
                let provider = LazyBlobProvider(store: store, client: client, logger: Logger(label: "test"))
                do {
                    try await body(store, provider, source)
                } catch {
                    await provider.shutdown()
                    throw error
                }
                await provider.shutdown()
            }
        }
    }

    @Test("a prepared blob opens with no look-up in meta.db; one nobody prepared is looked up by its open")
    func prepareMakesOpenLookNothingUp() async throws {
        try await Self.withProvider { store, provider, source in
            let prepared = Self.layer("prepared")
            let unprepared = Self.layer("unprepared")
            try store.lazyBlobs.recordLazy([prepared, unprepared], source: source)
            provider.prepare([prepared])
            // Forgotten in meta.db: only what prepare kept in memory can answer now.
            try store.lazyBlobs.forgetLazy([prepared.digest])
            guard case .lazy(let blob) = try provider.open(prepared) else {
                Issue.record("the prepared blob did not open lazily")
                return
            }
            #expect(blob.descriptor == prepared)
            #expect(provider.lookUpsOnOpen == 0)
            guard case .lazy = try provider.open(unprepared) else {
                Issue.record("the unprepared blob did not open lazily")
                return
            }
            #expect(provider.lookUpsOnOpen == 1, "the rare path: looked up by its open")
            #expect(throws: ImagesError.self) { try provider.open(Self.layer("unknown")) }
        }
    }

    @Test("openers of one digest at once get the one lazy blob")
    func concurrentOpensShareOneBlob() async throws {
        try await Self.withProvider { store, provider, source in
            let layer = Self.layer("shared")
            try store.lazyBlobs.recordLazy([layer], source: source)
            provider.prepare([layer])
            let opened = Mutex<[ObjectIdentifier]>([])
            runConcurrently(8) { _ in
                guard case .lazy(let blob)? = try? provider.open(layer) else { return }
                opened.withLock { $0.append(ObjectIdentifier(blob)) }
            }
            let identities = opened.withLock { $0 }
            #expect(identities.count == 8)
            #expect(Set(identities).count == 1)
        }
    }

    @Test("shutdown cancels a fetch in flight: its waiting read fails, nothing is cached or committed, and nothing is fetched afterwards")
    func shutdownEndsFetches() async throws {
        let registry = try SilentPort()
        try await Self.withProvider(registryPort: registry.port) { store, provider, source in
            let layer = Self.layer("a layer that never arrives")
            try store.lazyBlobs.recordLazy([layer], source: source)
            provider.prepare([layer])
            guard case .lazy(let blob) = try provider.open(layer) else {
                Issue.record("not lazy")
                return
            }
            let answered = Answers()
            blob.read(offset: 0, byteCount: 4, openedAt: blob.generation) { answered.add($0) }
            #expect(blob.stateDescription.hasPrefix("fetching"))
            // The fetch's request reached the registry, which never answers. Waited for on a
            // thread of its own, and long: the fetch runs on the cooperative pool, which the
            // integration suites running beside this one may hold for minutes.
            let connected = await withCheckedContinuation { continuation in
                Thread.detachNewThread { continuation.resume(returning: registry.waitForConnection(timeout: .seconds(900))) }
            }
            #expect(connected)
            #expect(answered.all.isEmpty)
            let clock = ContinuousClock()
            let took = await clock.measure { await provider.shutdown() }
            #expect(took < .seconds(900), "the fetch was cancelled, not waited out (the read timeout is an hour)")
            #expect(provider.lifetime.runningTasks == 0)
            let first = answered.all
            #expect(first.count == 1)
            if case .failure(let error)? = first.first { #expect(error.code == .io) } else { Issue.record("the waiting read was not failed: \(first)") }
            #expect(!store.hasBlob(layer.digest), "nothing committed")
            #expect(CacheEntry.peekChunks(cacheRoot: store.location.cacheRoot, digest: layer.digest).allSatisfy { $0 == 0 }, "no chunk named present")
            // A read after shutdown is answered at once: no fetch starts any more.
            blob.read(offset: 4, byteCount: 4, openedAt: blob.generation) { answered.add($0) }
            #expect(answered.all.count == 2)
            if case .failure(let error)? = answered.all.last { #expect(error.code == .io) } else { Issue.record("the read after shutdown got bytes") }
            #expect(provider.lifetime.runningTasks == 0)
            #expect(provider.lifetime.pendingTimers == 0, "no probe is scheduled after shutdown")
        }
    }
}

/// The answers a lazy blob gave to reads, in order.
private final class Answers: Sendable {
    private let results = Mutex<[Result<ReadResult, ImagesError>]>([])
    func add(_ result: Result<ReadResult, ImagesError>) { results.withLock { $0.append(result) } }
    var all: [Result<ReadResult, ImagesError>] { results.withLock { $0 } }
}

/// A registry that accepts connections (the kernel completes them: the socket listens) and
/// never answers, as a stopped (`SIGSTOP`) registry does.
private final class SilentPort: Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("cannot create a socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0 && listen(fd, 16) == 0
            }
        }
        guard bound else {
            close(fd)
            throw TestSupportError("cannot listen on 127.0.0.1")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits (`poll`) until a connection is pending; false after `timeout`.
    func waitForConnection(timeout: Duration) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, Int32(timeout.components.seconds * 1000)) == 1
    }

    deinit { close(fd) }
}
