/// Names ranked by how near they are to one a user typed: same repository first, then by edit
/// distance (Levenshtein, over UTF-8 bytes), then alphabetically.
package enum NearestNames {
    /// `names`, nearest to `wanted` first.
    package static func rank(_ names: [String], to wanted: String) -> [String] {
        let repository = Self.repository(wanted)
        let target = Array(wanted.utf8)
        return names.map { name in (name, Self.repository(name) == repository ? 0 : 1, distance(Array(name.utf8), target)) }
            .sorted { ($0.1, $0.2, $0.0) < ($1.1, $1.2, $1.0) }
            .map(\.0)
    }

    /// The nearest of `names` to `wanted` when it is near enough to be a typo of it (an edit
    /// distance of at most 2, or of a third of `wanted`'s length), else nil.
    package static func suggestion(for wanted: String, among names: [String]) -> String? {
        let target = Array(wanted.utf8)
        let nearest = names.map { ($0, distance(Array($0.utf8), target)) }.min { ($0.1, $0.0) < ($1.1, $1.0) }
        guard let nearest, nearest.1 > 0, nearest.1 <= max(2, target.count / 3) else { return nil }
        return nearest.0
    }

    /// The name without its tag or digest.
    static func repository(_ name: String) -> Substring {
        let withoutDigest = name.split(separator: "@", maxSplits: 1).first ?? Substring(name)
        if let colon = withoutDigest.lastIndex(of: ":"), !withoutDigest[colon...].contains("/") { return withoutDigest[..<colon] }
        return withoutDigest
    }

    /// Levenshtein distance.
    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
