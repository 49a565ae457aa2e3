extension JSONValue {
    /// Refuses an object member whose name equals one of `fields` except for case (`"Layers"`
    /// beside or instead of `"layers"`).
    ///
    /// Go's encoding/json (skopeo, umoci, containerd) matches member names to struct fields
    /// case-insensitively, with Unicode simple folding (`K`, U+212A, matches `k`; `ſ`, U+017F,
    /// matches `s`), so such a member is a field to them and unknown to an exact reader: the two
    /// would follow different blobs. Exact duplicates are refused by ``JSONParser`` already.
    ///
    /// - Parameters:
    ///   - fields: the field names the reader knows, as the spec spells them.
    ///   - what: names the object in the error (`manifest`, `descriptor of sha256:...`).
    /// - Throws: `OCISpecError.duplicateMember` naming the member and the field it folds to.
    package func checkFieldNames(_ fields: [String], in what: @autoclosure () -> String) throws(OCISpecError) {
        guard case .object(let members) = self else { return }
        for member in members where !fields.contains(member.key) {
            let folded = Self.fold(member.key)
            if let field = fields.first(where: { Self.fold($0) == folded }) {
                throw OCISpecError(
                    .duplicateMember,
                    "\(what()) has a member \"\(member.key)\" that Go readers (skopeo, umoci, containerd) take as \"\(field)\": "
                        + "member names that differ from a field only by case are refused")
            }
        }
    }

    /// `name` under Go's case folding restricted to what can equal an ASCII field name:
    /// ASCII lowercased, U+212A KELVIN SIGN as `k`, U+017F LATIN SMALL LETTER LONG S as `s`.
    private static func fold(_ name: String) -> String {
        var folded = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            switch scalar.value {
            case 0x41...0x5A: folded.append(Unicode.Scalar(scalar.value + 0x20)!)
            case 0x212A: folded.append("k")
            case 0x017F: folded.append("s")
            default: folded.append(scalar)
            }
        }
        return String(folded)
    }
}
