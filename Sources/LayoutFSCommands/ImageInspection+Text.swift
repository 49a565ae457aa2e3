import OCISpec

extension ImageInspection {
    /// `layoutfs inspect` for people: one `Field:  value` line per fact (labels padded to one
    /// width, lists continued on indented lines; `-` for what the image lacks), sizes in binary
    /// units, entrypoint and cmd as JSON arrays (their exact words).
    var lines: [String] {
        var out: [String] = []
        func field(_ label: String, _ values: [String]) {
            let shown = values.isEmpty ? ["-"] : values
            let pad = String(repeating: " ", count: Self.labelWidth)
            out.append((label + ":").padding(toLength: Self.labelWidth, withPad: " ", startingAt: 0) + shown[0])
            out += shown.dropFirst().map { pad + $0 }
        }
        field("Names", names.isEmpty ? ["- (given by digest; no name is bound to it)"] : names)
        field("Digest", [root.digest.description])
        field("Media type", [root.mediaType.rawValue])
        field("Size", [ByteFormat.string(root.size)])
        if let platforms {
            field("Platforms", Self.columns(platforms.map { [$0.platform.description, $0.manifest.digest.description] }))
        }
        guard let details else {
            field("Manifest", ["none for \(machine) (this machine's platform): give --platform with one of the platforms above"])
            return out
        }
        switch details.choice {
        case .root: break
        case .requested(let platform): field("Manifest", ["\(details.manifest.digest) (\(platform): --platform)"])
        case .machine(let platform):
            field("Manifest", ["\(details.manifest.digest) (\(platform): this machine's platform; --platform chooses another)"])
        }
        field("Config", ["\(details.config.digest) (\(details.config.mediaType), \(ByteFormat.string(details.config.size)))"])
        field("Created", details.created.map { [$0] } ?? [])
        field("Platform", details.platform.map { [$0] } ?? [])
        field("Entrypoint", details.entrypoint.isEmpty ? [] : [Self.jsonArray(details.entrypoint)])
        field("Cmd", details.cmd.isEmpty ? [] : [Self.jsonArray(details.cmd)])
        field("Working dir", details.workingDir.flatMap { $0.isEmpty ? nil : [$0] } ?? [])
        field("User", details.user.flatMap { $0.isEmpty ? nil : [$0] } ?? [])
        field("Env", details.env)
        field("Labels", details.labels.map { "\($0.key)=\($0.value)" })
        field(
            "Layers",
            Self.columns(
                details.layers.map { layer in
                    [layer.descriptor.digest.description, ByteFormat.string(layer.descriptor.size), layer.descriptor.mediaType.rawValue, Self.state(layer)]
                }))
        return out
    }

    /// Width of the `Field:` column, in characters.
    static let labelWidth = 14

    /// `local`, `lazy (X cached)`, `remote (containerd)`, `missing`.
    static func state(_ layer: Layer) -> String {
        switch layer.state {
        case .local: return "local"
        case .lazy(let cached): return "lazy (\(ByteFormat.string(cached)) cached)"
        case .remote: return "remote (read through containerd's API)"
        case .missing: return "missing"
        }
    }

    /// Rows with every column but the last padded to its widest cell, two spaces apart.
    static func columns(_ rows: [[String]]) -> [String] {
        let count = rows.first?.count ?? 0
        let widths = (0..<count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in i == count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
    }

    /// `["/bin/sh","-c"]`: compact JSON, so words with spaces stay visible.
    private static func jsonArray(_ words: [String]) -> String {
        String(decoding: JSONValue.array(words.map { .string($0) }).encoded, as: UTF8.self)
    }
}
