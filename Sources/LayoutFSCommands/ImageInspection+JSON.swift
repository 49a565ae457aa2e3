import OCISpec

extension ImageInspection {
    /// `inspect --json`: one object with a fixed key set, camelCase as every JSON output of
    /// layoutfs (README "JSON output"), members in this order:
    /// `names` (strings), `digest`, `mediaType`, `size` (bytes) of the root; `platforms`
    /// (an index's: `[{platform, digest, mediaType, size}]`, the manifest each selects; null for
    /// a manifest root); `manifest` and `config` (`{digest, mediaType, size}` of the chosen
    /// manifest and its config); `platform` (`os/arch[/variant]`), `created`, `architecture`,
    /// `os`, `variant`, `workingDir`, `user` (strings); `env`, `entrypoint`, `cmd` (arrays of
    /// strings), `labels` (an object of strings); `layers`
    /// (`[{digest, size, mediaType, state, cachedBytes}]`, `state` local, lazy, remote or missing,
    /// `cachedBytes` only for lazy). Keys are always present: a value the image lacks is null,
    /// an empty array or an empty object (also when no manifest was chosen).
    var json: JSONValue {
        let details = self.details
        return .object([
            ("names", .array(names.map { .string($0) })),
            ("digest", .string(root.digest.description)),
            ("mediaType", .string(root.mediaType.rawValue)),
            ("size", Self.number(root.size)),
            (
                "platforms",
                platforms.map { entries in
                    .array(
                        entries.map { entry in
                            .object([("platform", .string(entry.platform.description))] + Self.descriptorMembers(entry.manifest))
                        })
                } ?? .null
            ),
            ("manifest", details.map { .object(Self.descriptorMembers($0.manifest)) } ?? .null),
            ("config", details.map { .object(Self.descriptorMembers($0.config)) } ?? .null),
            ("platform", Self.string(details?.platform)),
            ("created", Self.string(details?.created)),
            ("architecture", Self.string(details?.architecture)),
            ("os", Self.string(details?.os)),
            ("variant", Self.string(details?.variant)),
            ("env", Self.strings(details?.env)),
            ("entrypoint", Self.strings(details?.entrypoint)),
            ("cmd", Self.strings(details?.cmd)),
            ("workingDir", Self.string(details?.workingDir)),
            ("user", Self.string(details?.user)),
            ("labels", .object((details?.labels ?? []).map { ($0.key, .string($0.value)) })),
            ("layers", .array((details?.layers ?? []).map(Self.layerJSON))),
        ])
    }

    /// `{digest, size, mediaType, state}`, plus `cachedBytes` for a lazy layer.
    private static func layerJSON(_ layer: Layer) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("digest", .string(layer.descriptor.digest.description)),
            ("size", number(layer.descriptor.size)),
            ("mediaType", .string(layer.descriptor.mediaType.rawValue)),
            ("state", .string(layer.state.name)),
        ]
        if case .lazy(let cachedBytes) = layer.state { members.append(("cachedBytes", number(cachedBytes))) }
        return .object(members)
    }

    private static func descriptorMembers(_ descriptor: Descriptor) -> [(key: String, value: JSONValue)] {
        [("digest", .string(descriptor.digest.description)), ("mediaType", .string(descriptor.mediaType.rawValue)), ("size", number(descriptor.size))]
    }

    private static func number(_ value: Int64) -> JSONValue { .number(String(value)) }
    private static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    private static func strings(_ values: [String]?) -> JSONValue { .array((values ?? []).map { .string($0) }) }
}
