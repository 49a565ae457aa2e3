import Containerd
import Foundation
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
    private var held: Set<Digest> = []
    private var leased: Set<Digest> = []
    private var sequence = 0
    private var background: Task<Void, Never>?

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

    /// Holds `digests` from now on: those of `first` not held yet are added before this
    /// returns, the others by a task of the keeper's own (a later call or ``end()`` takes
    /// over or stops it); those no longer in `digests` stay held until the next ``renew()``.
    /// - Throws: ``ContainerdError``.
    package func hold(_ digests: Set<Digest>, first: Set<Digest> = []) async throws(ContainerdError) {
        held = digests
        guard let id else { return }
        let urgent = first.intersection(digests).subtracting(leased)
        if !urgent.isEmpty {
            guard try await add(urgent, to: id) else { return }
        }
        let rest = digests.subtracting(leased)
        background?.cancel()
        background = nil
        guard !rest.isEmpty else { return }
        if first.isEmpty {
            _ = try await add(rest, to: id)
            return
        }
        background = Task { await self.addInBackground(rest, to: id) }
    }

    /// Adds `digests` to lease `id`. When the lease was deleted under the keeper (`ctr leases
    /// rm`), a new one holding every held blob replaces it now rather than at the next renewal
    /// (a name moved meanwhile was not held at all until then).
    /// - Returns: false when the lease was replaced (everything held is in the new one).
    private func add(_ digests: Set<Digest>, to id: String) async throws(ContainerdError) -> Bool {
        do throws(ContainerdError) {
            try await client.addContent(digests.sorted { $0.description < $1.description }, toLease: id)
            leased.formUnion(digests)
            return true
        } catch  where error.code == .notFound && self.id == id {
            try await replace()
            return false
        }
    }

    private func addInBackground(_ digests: Set<Digest>, to lease: String) async {
        do {
            try await client.addContent(digests.sorted { $0.description < $1.description }, toLease: lease)
            if id == lease { leased.formUnion(digests) }
        } catch {
            // The next renewal adds them again.
        }
    }

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
        labels[ContainerdClient.leaseExpiryLabel] = Self.rfc3339(Date().addingTimeInterval(Double(expiry.components.seconds)))
        _ = try await client.createLease(id: next, labels: labels)
        let holding = held
        do {
            try await client.addContent(holding.sorted { $0.description < $1.description }, toLease: next)
        } catch {
            try? await client.deleteLease(id: next)
            throw error
        }
        let old = id
        id = next
        leased = holding
        if let old { try? await client.deleteLease(id: old) }
    }

    /// `2026-12-06T08:05:00Z` (RFC 3339, UTC), as containerd parses `gc.expire`.
    static func rfc3339(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.up))
        var parts = tm()
        gmtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
