import ContainerdAPI
import OCISpec

extension ContainerdClient {
    /// Every image of the namespace (images service List) that layoutfs can read, sorted by
    /// name. An image whose target it cannot (a `sha384:` digest, which containerd accepts, or
    /// a negative size) is left out: one such image made every command on the namespace fail.
    /// ``image(named:)`` still says why when it is asked for by name.
    /// - Throws: ``ContainerdError``.
    package func images() async throws(ContainerdError) -> [ContainerdImage] {
        let service = Containerd_Services_Images_V1_Images.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        let response = try await calling("listing the images of containerd namespace \(namespace)") {
            try await service.list(Containerd_Services_Images_V1_ListImagesRequest(), metadata: metadata, options: options)
        }
        return response.images.compactMap { try? Self.image($0) }.sorted { $0.name < $1.name }
    }

    /// The image named exactly `name` (images service Get), or nil.
    /// - Throws: ``ContainerdError`` other than not found; `.protocolViolation` for a target
    ///   layoutfs cannot read (an unsupported digest algorithm, a negative size).
    package func image(named name: String) async throws(ContainerdError) -> ContainerdImage? {
        let service = Containerd_Services_Images_V1_Images.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        var request = Containerd_Services_Images_V1_GetImageRequest()
        request.name = name
        do throws(ContainerdError) {
            let response = try await calling("getting image \(name) from containerd namespace \(namespace)") {
                try await service.get(request, metadata: metadata, options: options)
            }
            return response.hasImage ? try Self.image(response.image) : nil
        } catch  where error.code == .notFound {
            return nil
        }
    }

    static func image(_ image: Containerd_Services_Images_V1_Image) throws(ContainerdError) -> ContainerdImage {
        ContainerdImage(
            name: image.name, target: try descriptor(image.target, of: "image \(image.name)"), labels: image.labels,
            updatedAt: Double(image.updatedAt.seconds) + Double(image.updatedAt.nanos) / 1e9)
    }
}
