import OCISpec

/// The error the LayerIndex module throws: what is wrong with a layer's tar stream, at which
/// offset of the uncompressed stream, and which member.
package struct LayerIndexError: Error, UserFacingError, Sendable, Equatable {
    /// Extensible set of failure kinds.
    package struct Code: Hashable, Sendable {
        private enum Value: Hashable, Sendable { case notTar, truncated, unsafePath, unsupported, invalidMember }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// The stream is not a tar archive (a header's checksum or format is wrong).
        package static let notTar = Code(.notTar)
        /// The stream ends inside a header or a member's data.
        package static let truncated = Code(.truncated)
        /// A member's path (or a hard link's target) is absolute or climbs out of the root with `..`.
        package static let unsafePath = Code(.unsafePath)
        /// A member type or extension layers never need (GNU sparse files, multi-volume parts).
        package static let unsupported = Code(.unsupported)
        /// A field cannot be read (a number that is not one, a PAX record that is malformed).
        package static let invalidMember = Code(.invalidMember)
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}
