/// Constants of the OCI image layout (OCI image-spec image-layout.md) and the limits we apply
/// to untrusted input.
public enum ImageLayout {
    /// `oci-layout` file name.
    public static let layoutFileName = "oci-layout"
    /// `index.json` file name.
    public static let indexFileName = "index.json"
    /// The top-level `manifest.json` that `docker load` reads, which Docker 25's `docker save`
    /// writes beside an OCI layout (`--format docker`).
    public static let dockerManifestFileName = "manifest.json"
    /// Exact bytes of the `oci-layout` file we write.
    public static let layoutFileContents = Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)
    public static let layoutVersion = "1.0.0"
    /// Largest manifest, index or config we parse, in bytes (checked before parsing; containerd
    /// and the distribution registry use the same 4 MiB bound).
    public static let maximumManifestSize: Int64 = 4 << 20
    /// Largest descriptor size we accept, in bytes (1 TiB): larger is hostile or corrupt.
    public static let maximumBlobSize: Int64 = 1 << 40
}

/// Annotation keys we read and write.
public enum AnnotationKey {
    /// Full image name, containerd's convention (`docker.io/library/busybox:1.35`).
    public static let containerdImageName = "io.containerd.image.name"
    /// The reference name of an `index.json` entry (image-spec annotations.md), usually the tag.
    public static let refName = "org.opencontainers.image.ref.name"
    /// BuildKit's attestation manifests: `attestation-manifest`.
    public static let dockerReferenceType = "vnd.docker.reference.type"
    /// BuildKit's attestation manifests: the digest of the image they describe.
    public static let dockerReferenceDigest = "vnd.docker.reference.digest"
}
