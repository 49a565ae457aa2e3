import ImageStore
import OCISpec

/// What the command decided for a mount, handed to the daemon whole (a JSON object in an
/// inherited memfd) so the daemon resolves nothing again: the mountpoint as the kernel names
/// it, each IMAGE argument with the image it resolved to, meta.db's change counter at that
/// moment, and the layout's shape.
///
/// The daemon plans the first generation itself (``MountService``): handing it the plan's
/// descriptors (10,000 for a large image) cost more than planning (50 ms in `scripts/bench`'s
/// mount-ready case).
package struct MountRequest: Sendable, Equatable {
    /// One IMAGE argument: how it names the image (followed or pinned) and what it resolved to.
    package struct Image: Sendable, Equatable {
        package var specifier: ImageSpecifier
        package var resolved: ResolvedImage

        package init(specifier: ImageSpecifier, resolved: ResolvedImage) {
            self.specifier = specifier
            self.resolved = resolved
        }
    }

    package var mountpoint: String
    package var images: [Image]
    /// meta.db's change counter read before the images were resolved.
    package var changeCount: Int64?
    package var shape: LayoutPlan.Shape
    /// IMAGE arguments the daemon resolves itself (`images` is then empty): with
    /// `--containerd` the daemon connects to containerd anyway (for its lease), and the
    /// command connecting too would be one more gRPC connection on the way to a ready mount.
    package var unresolved: [ImageSpecifier]
    /// Show the image's root filesystem (`mount --rootfs`) rather than an OCI layout.
    package var rootfs: Bool

    package init(
        mountpoint: String, images: [Image], changeCount: Int64?, shape: LayoutPlan.Shape, unresolved: [ImageSpecifier] = [], rootfs: Bool = false
    ) {
        self.rootfs = rootfs
        self.mountpoint = mountpoint
        self.images = images
        self.changeCount = changeCount
        self.shape = shape
        self.unresolved = unresolved
    }

    /// The shape a plan of `images` uses: the request's, and for a rootfs view of an image
    /// index without `--platform`, this machine's platform (one platform is shown; a single
    /// manifest whatever its platform).
    package func planShape(for images: [ResolvedImage]) -> LayoutPlan.Shape {
        var planned = shape
        if rootfs {
            planned.manifestsShown = false
            if planned.platform == nil, images.contains(where: { $0.root.mediaType.isIndex }) { planned.platform = .current }
        }
        return planned
    }

    /// The images as the user should read them: resolved names (or digests), else the
    /// arguments the daemon resolves.
    package var names: [String] {
        images.isEmpty ? unresolved.map(\.description) : images.map { $0.resolved.name ?? $0.resolved.root.digest.description }
    }

    /// The request as one JSON object.
    package var json: JSONValue {
        var shapeMembers: [(key: String, value: JSONValue)] = [("oci", .bool(shape.oci)), ("dockerManifest", .bool(shape.dockerManifest))]
        if let platform = shape.platform { shapeMembers.append(("platform", platform.json)) }
        var members: [(key: String, value: JSONValue)] = [
            ("mountpoint", .string(mountpoint)),
            (
                "images",
                .array(
                    images.map { image in
                        var members: [(key: String, value: JSONValue)] = [
                            ("specifier", .string(image.specifier.description)), ("root", image.resolved.root.json), ("pinned", .bool(image.resolved.pinned)),
                        ]
                        if let name = image.resolved.name { members.append(("name", .string(name))) }
                        return .object(members)
                    })
            ),
            ("shape", .object(shapeMembers)),
        ]
        if let changeCount { members.append(("changeCount", .number(String(changeCount)))) }
        if !unresolved.isEmpty { members.append(("unresolved", .array(unresolved.map { .string($0.description) }))) }
        if rootfs { members.append(("rootfs", .bool(true))) }
        return .object(members)
    }

    /// Reads a request written by ``json``.
    /// - Throws: `OCISpecError` when the bytes are not such a request.
    package init(bytes: [UInt8]) throws(OCISpecError) {
        let json = try JSONParser.parse(bytes)
        func fail(_ what: String) -> OCISpecError { OCISpecError(.invalidJSON, "the mount request's \(what) is missing or malformed") }
        guard let mountpoint = json["mountpoint"]?.stringValue else { throw fail("mountpoint") }
        guard let imageList = json["images"]?.arrayValue else { throw fail("images") }
        var images: [Image] = []
        for item in imageList {
            guard let text = item["specifier"]?.stringValue, let root = item["root"], case .bool(let pinned)? = item["pinned"] else { throw fail("images") }
            let specifier = try ImageSpecifier(parsing: text)
            images.append(
                Image(specifier: specifier, resolved: ResolvedImage(name: item["name"]?.stringValue, root: try Descriptor(json: root), pinned: pinned)))
        }
        guard let shapeJSON = json["shape"], case .bool(let oci)? = shapeJSON["oci"], case .bool(let dockerManifest)? = shapeJSON["dockerManifest"] else {
            throw fail("shape")
        }
        let platform = try shapeJSON["platform"].map { json throws(OCISpecError) in try Platform(json: json) }
        var unresolved: [ImageSpecifier] = []
        if let list = json["unresolved"] {
            guard let items = list.arrayValue, !items.isEmpty, images.isEmpty else { throw fail("unresolved images") }
            for item in items {
                guard let text = item.stringValue else { throw fail("unresolved images") }
                unresolved.append(try ImageSpecifier(parsing: text))
            }
        }
        guard !images.isEmpty || !unresolved.isEmpty else { throw fail("images") }
        self.init(
            mountpoint: mountpoint, images: images, changeCount: json["changeCount"]?.int64Value,
            shape: LayoutPlan.Shape(platform: platform, oci: oci, dockerManifest: dockerManifest), unresolved: unresolved, rootfs: json["rootfs"] == .bool(true)
        )
    }
}
