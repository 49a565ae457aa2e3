import ArgumentParser
import Foundation
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import Logging
import OCISpec
import Registry

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs pull REF`: the image's blobs from a registry into the store.
struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull an image from a registry into the store.",
        discussion: """
            Credentials come from ~/.docker/config.json ($DOCKER_CONFIG): auths, credHelpers, \
            credsStore. Plain HTTP is used only for loopback registries and --insecure-registry hosts. \
            Every blob is verified; blobs already in the store are skipped; the name is bound only \
            when the whole image is there, so an interrupted pull names nothing and a re-run resumes.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "The reference, e.g. 127.0.0.1:5000/team/app:1.4 or alpine.") var reference: String
    @OptionGroup var platform: PlatformOptions
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var log: LogOptions
    @Option(help: "Blobs downloaded at once.") var concurrency = 4
    @Option(help: "Seconds of silence after which a registry read is abandoned and retried.") var timeout = 30
    @Flag(help: "Fetch manifests, indexes and configs only; record the layers as lazy blobs (fetched when read).") var lazy = false
    @Flag(help: "Re-hash the image's blobs already in the store and fetch again those that do not match (instead of skipping them).") var verifyExisting = false

    func validate() throws {
        guard (1...86_400).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 86400 seconds") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
    }

    func run() async throws {
        let store = try store.openStore()
        let gcLock = try self.store.holdAgainstPrune(store)
        defer { withExtendedLifetime(gcLock) {} }
        // docker://REF names the same thing here (it is how mount and export take registry images).
        let text = reference.hasPrefix("docker://") ? String(reference.dropFirst("docker://".count)) : reference
        let reference = try ImageReference(parsing: text)
        let platform = try platform.parsed()
        let configuration = registry.configuration(readTimeout: timeout)
        let showProgress = isatty(STDERR_FILENO) == 1
        let started = ContinuousClock.now
        let reporter = ProgressLine(enabled: showProgress)
        let result = try await RegistryClient.with(configuration: configuration, logger: log.logger("layoutfs.pull")) { client in
            try await Puller(store: store, client: client).pull(
                reference, options: .init(platform: platform, concurrency: concurrency, lazy: lazy, verifyExisting: verifyExisting)
            ) { progress in
                reporter.update(progress)
            }
        }
        reporter.finish()
        let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
        print("pulled \(result.name) \(result.target.digest)")
        print(
            "fetched \(ByteFormat.count(result.fetchedBlobs, "blob")) (\(ByteFormat.string(result.fetchedBytes))), skipped \(result.skippedBlobs)\(result.replacedBlobs > 0 ? ", replaced \(result.replacedBlobs) wrong" : ""), in \(String(format: "%.2f", seconds)) s"
        )
        if result.lazyBlobs > 0 {
            print("recorded \(ByteFormat.count(result.lazyBlobs, "layer")) (\(ByteFormat.string(result.lazyBytes))) as lazy: not fetched")
        }
        for layer in result.absentForeignLayers {
            print("note: non-distributable layer \(layer.digest) was not fetched")
        }
    }
}

/// A progress line on a terminal's stderr (bytes, rate, blobs), redrawn at most 5 times a second.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let verb: String
    private let lock = NSLock()
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let started = ContinuousClock.now

    /// - Parameter verb: what the blob count means ("blobs 2/5" for pull, "checked 2/5").
    init(enabled: Bool, verb: String = "blobs") {
        self.enabled = enabled
        self.verb = verb
    }

    func update(_ progress: Puller.Progress) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        guard now - lastDraw >= .milliseconds(200) || progress.blobsDone == progress.blobsTotal else { return }
        lastDraw = now
        let elapsed = max(0.001, Double((now - started).components.seconds) + Double((now - started).components.attoseconds) / 1e18)
        let rate = Double(progress.bytesDone) / elapsed
        var stderr = StandardError()
        print(
            "\r\(ByteFormat.string(progress.bytesDone)) / \(ByteFormat.string(progress.bytesTotal))  \(ByteFormat.string(Int64(rate)))/s  \(verb) \(progress.blobsDone)/\(progress.blobsTotal)\u{1B}[K",
            terminator: "", to: &stderr)
    }

    func finish() {
        guard enabled else { return }
        var stderr = StandardError()
        print("\r\u{1B}[K", terminator: "", to: &stderr)
    }
}
