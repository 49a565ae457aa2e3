import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The fault-injecting proxy (Tests/Fixtures/fault-proxy.py) in front of a real registry.
/// Faults are rules in `faults.json`, read by the proxy before each request; what it served is
/// in `stats.json` (requests, and body bytes sent, counted by the proxy itself).
final class FaultProxy {
    struct Rule: Codable {
        var match: String
        var fault: String
        var times: Int?
    }

    struct Stats: Decodable {
        var requests: [[StringOrInt]]
        var bodyBytes: Int

        enum CodingKeys: String, CodingKey {
            case requests
            case bodyBytes = "body_bytes"
        }
    }

    enum StringOrInt: Decodable, Equatable {
        case string(String)
        case int(Int)
        case none
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .int(i) } else if let s = try? c.decode(String.self) { self = .string(s) } else { self = .none }
        }
    }

    let directory: String
    let port: Int
    private let child: Harness.Child
    var address: String { "127.0.0.1:\(port)" }

    init(upstream: RegistryServer, directory: String) throws {
        try Harness.require("python3")
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        (child, port) = try Harness.startServer(
            ["/usr/bin/python3", Harness.repositoryRoot + "/Tests/Fixtures/fault-proxy.py", String(upstream.port), directory],
            directory: directory, name: "fault proxy")
    }

    deinit {
        kill(child.pid, SIGTERM)
        _ = Harness.wait(child.pid)
    }

    func setFaults(_ rules: [Rule]) throws {
        let data = try JSONEncoder().encode(rules)
        try data.write(to: URL(fileURLWithPath: directory + "/faults.json.tmp"))
        rename(directory + "/faults.json.tmp", directory + "/faults.json")
    }

    func stats() throws -> Stats {
        guard let data = FileManager.default.contents(atPath: directory + "/stats.json") else { return Stats(requests: [], bodyBytes: 0) }
        return try JSONDecoder().decode(Stats.self, from: data)
    }

    /// Requests whose path contains `fragment`, as (fault or nil, body bytes sent, the
    /// `Range` header asked or nil).
    func requests(matching fragment: String) throws -> [(fault: String?, bytes: Int, range: String?)] {
        try stats().requests.compactMap { row in
            guard row.count >= 4, case .string(let path) = row[1], path.contains(fragment) else { return nil }
            let fault: String? = if case .string(let f) = row[2] { f } else { nil }
            let bytes: Int = if case .int(let b) = row[3] { b } else { 0 }
            let range: String? = if row.count > 4, case .string(let r) = row[4] { r } else { nil }
            return (fault, bytes, range)
        }
    }

    /// The byte ranges (half-open) of the GETs for `fragment` that sent a body: the `Range`
    /// asked, or the whole body when none was (or when it was ignored).
    func fetchedRanges(matching fragment: String) throws -> [Range<Int>] {
        try requests(matching: fragment).compactMap { request in
            guard request.bytes > 0 else { return nil }
            if let range = request.range, request.fault != "ignore-range", range.hasPrefix("bytes="),
                let first = Int(range.dropFirst(6).split(separator: "-")[0])
            {
                return first..<first + request.bytes
            }
            return 0..<request.bytes
        }
    }
}
