/// The error every parser in OCISpec throws: what was wrong with which input.
public struct OCISpecError: Error, UserFacingError, Sendable, Equatable {
    /// Which kind of input was rejected. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidJSON, invalidDigest, invalidDescriptor, invalidIndex, invalidManifest
            case invalidReference, invalidPlatform, tooLarge, duplicateMember
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        public static let invalidJSON = Code(.invalidJSON)
        public static let invalidDigest = Code(.invalidDigest)
        public static let invalidDescriptor = Code(.invalidDescriptor)
        public static let invalidIndex = Code(.invalidIndex)
        public static let invalidManifest = Code(.invalidManifest)
        public static let invalidReference = Code(.invalidReference)
        public static let invalidPlatform = Code(.invalidPlatform)
        public static let tooLarge = Code(.tooLarge)
        /// A JSON object names a member twice, or names a known field with different case (Go
        /// readers match field names case-insensitively).
        public static let duplicateMember = Code(.duplicateMember)
        public var description: String { "\(value)" }
    }

    public var code: Code
    /// What failed and, where it helps, what to do.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
