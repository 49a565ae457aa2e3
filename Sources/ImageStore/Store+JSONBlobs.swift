import ContentStore
import OCISpec

extension Store {
    /// Stores a manifest or index that layoutfs made (a docker-archive's image, an `--oci`
    /// conversion) as a blob of its compact encoding.
    /// - Parameter what: names the blob in the error.
    /// - Returns: the blob's sha256 digest and size in bytes.
    /// - Throws: `.noSpace`, `.io`.
    package func writeBlob(json: JSONValue, what: String) throws(ImagesError) -> (digest: Digest, size: Int64) {
        let bytes = json.encoded
        let digest = DigestHasher.digest(of: bytes)
        do {
            try content.write(bytes, digest: digest)
        } catch {
            throw ImagesError(error, "cannot store \(what)")
        }
        return (digest, Int64(bytes.count))
    }
}
