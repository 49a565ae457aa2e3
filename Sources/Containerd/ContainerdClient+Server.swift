import ContainerdAPI

extension ContainerdClient {
    /// containerd's version (version service), e.g. `1.6.20~ds1`.
    package func version() async throws(ContainerdError) -> String {
        let service = Containerd_Services_Version_V1_Version.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        return try await calling("asking containerd at \(socket) for its version") {
            try await service.version(.init(), metadata: metadata, options: options)
        }.version
    }

    /// The names of every namespace (namespaces service List), sorted.
    package func namespaces() async throws(ContainerdError) -> [String] {
        let service = Containerd_Services_Namespaces_V1_Namespaces.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        return try await calling("listing containerd's namespaces") {
            try await service.list(.init(), metadata: metadata, options: options)
        }.namespaces.map(\.name).sorted()
    }

    /// The directory of containerd's content store (the introspection service's
    /// `io.containerd.content.v1` plugin, its `root` export), or nil when containerd does not
    /// say (a proxy content store). Blobs are at `<root>/blobs/<algorithm>/<hex>`.
    package func contentRoot() async throws(ContainerdError) -> String? {
        let service = Containerd_Services_Introspection_V1_Introspection.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        var request = Containerd_Services_Introspection_V1_PluginsRequest()
        request.filters = ["type==io.containerd.content.v1"]
        let plugins = try await calling("asking containerd at \(socket) for its content plugin") {
            try await service.plugins(request, metadata: metadata, options: options)
        }.plugins
        return plugins.lazy.compactMap { $0.exports["root"] }.first { $0.hasPrefix("/") }
    }
}
