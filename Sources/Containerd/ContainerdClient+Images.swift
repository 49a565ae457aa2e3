import ContainerdAPI
import OCISpec

extension ContainerdClient {
    /// Every image of the namespace (images service List), sorted by name.
    /// - Throws: ``ContainerdError``; `.protocolViolation` for a target with an invalid digest.
    package func images() async throws(ContainerdError) -> [ContainerdImage] {
        let service = Containerd_Services_Images_V1_Images.Client(wrapping: grpc)
        let (metadata, options) = (metadata, unaryOptions)
        let response = try await calling("listing the images of containerd namespace \(namespace)") {
            try await service.list(Containerd_Services_Images_V1_ListImagesRequest(), metadata: metadata, options: options)
        }
        var images: [ContainerdImage] = []
        for image in response.images { images.append(try Self.image(image)) }
        return images.sorted { $0.name < $1.name }
    }

    /// The image named exactly `name` (images service Get), or nil.
    /// - Throws: ``ContainerdError`` other than not found.
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
