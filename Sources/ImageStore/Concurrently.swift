/// Runs `body` for every element of `items`, at most `limit` at once; the first error cancels
/// the rest and is thrown. Structured: the tasks are a task group's, all ended when it returns.
package func forEachConcurrently<Item: Sendable>(
    _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var pending = items.makeIterator()
        for _ in 0..<max(1, limit) {
            guard let item = pending.next() else { break }
            group.addTask { try await body(item) }
        }
        while try await group.next() != nil {
            if let item = pending.next() { group.addTask { try await body(item) } }
        }
    }
}
