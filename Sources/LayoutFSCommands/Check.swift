import ArgumentParser
import Foundation
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LazyBlobs
import OCISpec
import Registry

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs check [IMAGE...] [--repair] [--json]`: re-hashes the store and repairs it.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Re-hash store blobs and cache entries; report (or with --repair fix) the corrupt ones.",
        discussion: """
            Without IMAGE, every blob in the store and every complete cache entry is re-hashed; \
            with IMAGE..., their closures. Each corrupt one is reported with the images it \
            breaks. --repair removes it and fetches it again, verified, from its sources: the \
            registry recorded for a lazy blob, else the registry of an image name that reaches \
            it; what no source restores is named with the images that stay damaged and how to \
            restore them. A running mount serves the repaired blob from its next open. Exits \
            non-zero while corruption remains.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "Images: NAME[:TAG], NAME@sha256:..., or sha256:... of a root in the store (default: the whole store).", completion: ShellCompletion.images)
    var images: [String] = []
    @Flag(help: "Remove corrupt blobs and cache entries and fetch them again from their sources.") var repair = false
    @Flag(help: "Print JSON (checkedBlobs, checkedBytes, checkedCacheEntries, corrupt: [{digest, location, images, action, ...}], remaining).") var json = false
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        let store = try store.openStore()
        let gcLock = try self.store.holdAgainstPrune(store)
        defer { withExtendedLifetime(gcLock) {} }
        let resolved = images.isEmpty ? nil : try images.map { try store.resolve(try ImageSpecifier(parsing: $0)) }
        let reporter = ProgressLine(enabled: isatty(STDERR_FILENO) == 1, verb: "checked")
        var report = try StoreChecker(store: store).check(resolved) { reporter.update($0) }
        reporter.finish()
        if repair, !report.findings.isEmpty {
            let checker = StoreChecker(store: store)
            if report.findings.contains(where: { !$0.sources.isEmpty }) {
                // Sources are tried in turn: a dead one costs seconds, not the minute of pull's budget.
                var configuration = registry.configuration()
                configuration.connectTimeout = .seconds(5)
                configuration.retries = min(configuration.retries, 1)
                report = try await RegistryClient.with(configuration: configuration, logger: log.logger("layoutfs.check")) { client in
                    var repaired = report
                    await checker.repair(&repaired, client: client)
                    return repaired
                }
            } else {
                await checker.repair(&report, client: nil)
            }
        }
        if json {
            try Self.printJSON(report)
        } else {
            for finding in report.findings {
                let breaks = finding.images.isEmpty ? "breaks no image" : "breaks \(finding.images.joined(separator: ", "))"
                let location = finding.location == .store ? "store blob" : "cache entry"
                print(
                    "corrupt \(location) \(finding.digest) (\(ByteFormat.string(finding.size)), hashes to \(finding.actualDigest.short)): \(breaks); \(finding.advice)"
                )
            }
            for missing in report.missing {
                print(
                    "missing blob \(missing.digest): \(missing.images.joined(separator: ", ")) \(missing.images.count == 1 ? "is" : "are") incomplete; restore with layoutfs pull NAME or a re-import"
                )
            }
            print(report.line)
        }
        if !report.missing.isEmpty {
            throw CommandFailure(
                "\(ByteFormat.count(report.missing.count, "blob")) of the checked images \(report.missing.count == 1 ? "is" : "are") missing from the store")
        }
        if report.remaining > 0 {
            throw CommandFailure(
                "\(ByteFormat.count(report.remaining, "corrupt blob")) \(report.remaining == 1 ? "remains" : "remain")\(repair ? "" : ": run layoutfs check --repair")"
            )
        }
    }

    /// The report as one JSON object, keys as in `images --json` and `status --json`.
    static func printJSON(_ report: StoreChecker.Report) throws {
        let corrupt: [[String: Any]] = report.findings.map { finding in
            var object: [String: Any] = [
                "digest": finding.digest.description, "location": finding.location.rawValue, "size": finding.size,
                "actualDigest": finding.actualDigest.description, "images": finding.images, "sources": finding.sources.map(\.description),
                "advice": finding.advice, "remains": finding.remains,
            ]
            switch finding.outcome {
            case .found: object["action"] = "none"
            case .refetched(let source):
                object["action"] = "refetched"
                object["source"] = source.description
            case .removed: object["action"] = "removed"
            case .unrepaired(let failures):
                object["action"] = "removed"
                object["failures"] = failures
            }
            if let mediaType = finding.descriptor?.mediaType { object["mediaType"] = mediaType.rawValue }
            return object
        }
        let object: [String: Any] = [
            "checkedBlobs": report.checkedBlobs, "checkedBytes": report.checkedBytes, "checkedCacheEntries": report.checkedCacheEntries,
            "uncheckedCacheEntries": report.uncheckedCacheEntries, "corrupt": corrupt, "remaining": report.remaining,
            "missing": report.missing.map { ["digest": $0.digest.description, "images": $0.images] as [String: Any] },
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }
}
