import Containerd
import Foundation
import ImageStore
import Logging
import OCISpec

/// The containerd lease that holds a mount's or an export's blobs (leases service, resources
/// of type `content`), so containerd's garbage collector keeps them while layoutfs shows them,
/// even after `ctr images rm`.
///
/// The lease carries `containerd.io/gc.expire` ``expiry`` ahead: a daemon that is killed
/// leaves a lease that lapses by itself. containerd cannot change a lease's labels, so
/// ``renew()`` replaces it: a new lease (id `<prefix>-<n>`) holding the same blobs with a later
/// expiry, then the old one deleted; blobs no longer held are dropped then. ``end()`` deletes it.
package actor ContainerdLeaseKeeper {
    /// How far ahead the lease expires by default; it is renewed every third of that.
    package static let defaultExpiry: Duration = .seconds(300)

    package nonisolated let client: ContainerdClient
    /// Lease ids are `<prefix>-<n>`.
    package nonisolated let prefix: String
    package nonisolated let expiry: Duration
    private let labels: [String: String]
    /// The current lease, nil before ``start(holding:)`` and after ``end()``.
    package private(set) var id: String?
    /// When the current lease expires (its `containerd.io/gc.expire`).
    package private(set) var expiresAt: Date?
    private var held: Set<Digest> = []
    private var leased: Set<Digest> = []
    private var sequence = 0
    private var background: Task<Void, Never>?
    /// The label pass of a deferred hold, not started yet.
    private var pendingPass: (@Sendable () async -> Void)?
    /// Counts ``hold(_:waiting:deferred:counted:)`` calls: a background naming of an earlier one stops.
    private var generation = 0
    /// What each manifest or index read so far names in its gc.ref labels.
    private var labelled: [Digest: Set<Digest>] = [:]

    /// - Parameters:
    ///   - prefix: lease ids start with it (`layoutfs-mount-<pid>`); letters, digits, `-`.
    ///   - labels: more labels on each lease (`layoutfs.mountpoint`).
    package init(client: ContainerdClient, prefix: String, expiry: Duration = defaultExpiry, labels: [String: String] = [:]) {
        self.client = client
        self.prefix = prefix
        self.expiry = expiry
        self.labels = labels
    }

    /// Creates the first lease, holding `digests`.
    /// - Throws: ``ContainerdError``.
    package func start(holding digests: Set<Digest>) async throws(ContainerdError) {
        held = digests
        try await replace()
    }

    /// Holds `blobs` (the closures shown or copied) from now on, creating the lease first if
    /// there is none. The lease names the manifests, indexes and configs before this returns.
    /// A blob that a held manifest or index names in a `containerd.io/gc.ref.content*` label is
    /// held through that label and not named (containerd's collector follows those labels,
    /// metadata/gc.go, and its pulls and imports put them on every manifest and index); the
    /// others are named too. So a 10,000-layer image that containerd pulled is held by a few
    /// calls, not 10,000. Reading the labels (content Info; a 10,000-layer manifest's is a
    /// megabyte) and naming the unlabelled blobs happen before this returns when `waiting`,
    /// else in a task of the keeper's own, right after (a later call takes over), or when
    /// `deferred`, once ``startDeferredPass()`` is called.
    /// - Parameter counted: told the lease, how many blobs it names and how many it holds
    ///   through labels, once known.
    /// - Throws: ``ContainerdError``.
    package func hold(
        _ blobs: [Descriptor], waiting: Bool = false, deferred: Bool = false,
        counted: @escaping @Sendable (_ lease: String, _ named: Int, _ throughLabels: Int) -> Void = { _, _, _ in }
    ) async throws(ContainerdError) {
        let documents = blobs.filter { ManifestNode.hasChildren($0.mediaType) || $0.mediaType.isImageConfiguration }
        let first = Set(documents.map(\.digest))
        let all = Set(blobs.map(\.digest))
        generation += 1
        background?.cancel()
        background = nil
        if id == nil {
            try await start(holding: first)
        } else {
            // Until the labels are read, a renewal holds every blob.
            held = all
            let urgent = first.subtracting(leased)
            if !urgent.isEmpty, let id { _ = try await add(urgent, to: id) }
        }
        held = all
        let generation = generation
        let pass = { @Sendable [self] () async -> Void in
            _ = try? await self.holdUnlabelled(all, first: first, documents: documents, generation: generation, counted: counted)
        }
        if waiting {
            try await holdUnlabelled(all, first: first, documents: documents, generation: generation, counted: counted)
        } else if deferred {
            pendingPass = pass
        } else {
            pendingPass = nil
            background = Task { await pass() }
        }
    }

    /// Starts the label pass a ``hold(_:waiting:deferred:counted:)`` with `deferred` left for
    /// later (a mount: once it is live, so that reading a megabyte of labels does not compete
    /// with mount start for the cores).
    package func startDeferredPass() {
        guard let pass = pendingPass else { return }
        pendingPass = nil
        background = Task { await pass() }
    }

    /// Names the blobs of `all` that no label of `documents` names (and `first`), unless a
    /// later ``hold(_:waiting:deferred:counted:)`` took over. A manifest whose labels cannot be read
    /// covers nothing: its children are named.
    private func holdUnlabelled(
        _ all: Set<Digest>, first: Set<Digest>, documents: [Descriptor], generation: Int, counted: @Sendable (String, Int, Int) -> Void
    ) async throws(ContainerdError) {
        var referenced: Set<Digest> = []
        for document in documents where ManifestNode.hasChildren(document.mediaType) {
            referenced.formUnion((try? await references(of: document.digest)) ?? [])
        }
        guard generation == self.generation, let id else { return }
        let named = all.subtracting(referenced).union(first)
        held = named
        let rest = named.subtracting(leased)
        if !rest.isEmpty { _ = try await add(rest, to: id) }
        counted(self.id ?? id, named.count, all.count - named.count)
    }

    /// Adds `digests` to lease `id`. When the lease was deleted under the keeper (`ctr leases
    /// rm`), a new one holding every held blob replaces it now rather than at the next renewal
    /// (a name moved meanwhile was not held at all until then).
    /// - Returns: false when the lease was replaced (everything held is in the new one).
    private func add(_ digests: Set<Digest>, to id: String) async throws(ContainerdError) -> Bool {
        do throws(ContainerdError) {
            try await client.addContent(Array(digests), toLease: id)
            if self.id == id { leased.formUnion(digests) }
            return true
        } catch  where error.code == .notFound && self.id == id {
            try await replace()
            return false
        }
    }

    /// The blobs `digest`'s `containerd.io/gc.ref.content*` labels name (read once per digest:
    /// a blob's labels are written with it).
    private func references(of digest: Digest) async throws(ContainerdError) -> Set<Digest> {
        if let known = labelled[digest] { return known }
        let labels = try await client.contentInfo(digest)?.labels ?? [:]
        let found = Set(labels.compactMap { key, value in key.hasPrefix(Self.referenceLabelPrefix) ? try? Digest(parsing: value) : nil })
        labelled[digest] = found
        return found
    }

    /// The prefix of the labels containerd's collector follows from one blob to others.
    package static let referenceLabelPrefix = "containerd.io/gc.ref.content"

    /// Replaces the lease by one expiring ``expiry`` from now, holding exactly the held blobs.
    /// - Throws: ``ContainerdError`` (the old lease is kept then, until its own expiry).
    package func renew() async throws(ContainerdError) {
        guard id != nil else { return }
        try await replace()
    }

    /// Runs `body` with the lease renewed every third of ``expiry`` meanwhile, as a mount's
    /// lease is: a job that outlasts the expiry (an export of a large image, or one waiting on a
    /// registry) keeps its blobs held. A failed renewal is tried again a period later.
    package nonisolated func renewing<R>(_ body: () async throws -> R) async throws -> R {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: self.expiry / 3)
                    try? await self.renew()
                }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// Deletes the lease (a failure is logged by the caller's next lease listing: the lease
    /// expires by itself).
    package func end() async {
        background?.cancel()
        background = nil
        guard let old = id else { return }
        id = nil
        try? await client.deleteLease(id: old)
    }

    private func replace() async throws(ContainerdError) {
        sequence += 1
        let next = "\(prefix)-\(sequence)"
        var labels = labels
        let expiresAt = Date().addingTimeInterval(Double(expiry.components.seconds))
        labels[ContainerdClient.leaseExpiryLabel] = Self.rfc3339(expiresAt)
        _ = try await client.createLease(id: next, labels: labels)
        let holding = held
        do {
            try await client.addContent(Array(holding), toLease: next)
        } catch {
            try? await client.deleteLease(id: next)
            throw error
        }
        let old = id
        id = next
        self.expiresAt = expiresAt
        leased = holding
        if let old { try? await client.deleteLease(id: old) }
    }

    /// `2026-12-06T08:05:00Z` (RFC 3339, UTC), as containerd parses `gc.expire`.
    package static func rfc3339(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.up))
        var parts = tm()
        gmtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
