/// A strict RFC 8259 parser that produces `JSONValue` (numbers kept as text).
///
/// Throws `OCISpecError.invalidJSON` with the byte offset of the first problem. Nesting is
/// limited to `maximumDepth` so hostile input cannot exhaust the stack.
///
/// An object with two members of the same name is refused (`.duplicateMember`, naming the
/// member's path): RFC 8259 leaves the meaning open, and readers disagree (Go's encoding/json,
/// used by skopeo, umoci and containerd, takes the last; a first-wins reader would follow
/// different blobs than they do).
public struct JSONParser {
    public static let maximumDepth = 256

    private let bytes: [UInt8]
    private var position = 0
    /// Member names and element indexes from the document's root to the value being parsed.
    private var path: [PathComponent] = []

    private enum PathComponent {
        case member(String)
        case element(Int)
    }

    /// Parses one JSON document; whitespace may surround it, nothing else.
    public static func parse(_ bytes: some Collection<UInt8>) throws(OCISpecError) -> JSONValue {
        var parser = JSONParser(bytes: Array(bytes))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else { throw parser.failure("unexpected data after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func failure(_ what: String) -> OCISpecError {
        OCISpecError(.invalidJSON, "invalid JSON at byte \(position): \(what)")
    }

    /// The path to the current value, as `layers[2].annotations` (`$` for the root).
    private var pathText: String {
        var text = ""
        for component in path {
            switch component {
            case .member(let name): text += text.isEmpty ? name : ".\(name)"
            case .element(let index): text += "[\(index)]"
            }
        }
        return text.isEmpty ? "$" : text
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(OCISpecError) {
        let text = literal.withUTF8Buffer { Array($0) }
        guard position + text.count <= bytes.count, Array(bytes[position..<position + text.count]) == text else {
            throw failure("expected \(literal)")
        }
        position += text.count
    }

    private mutating func parseValue(depth: Int) throws(OCISpecError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
        guard position < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw failure("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws(OCISpecError) -> JSONValue {
        position += 1
        var members: [(key: String, value: JSONValue)] = []
        // Compared as bytes, as Go does: Swift's String equality would also equate canonically
        // equivalent spellings ("é" and "e\u{301}"), which Go readers keep apart.
        var names: Set<[UInt8]> = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            let key = try parseString()
            guard names.insert(Array(key.utf8)).inserted else {
                path.append(.member(key))
                let member = pathText
                throw OCISpecError(
                    .duplicateMember,
                    "member \"\(member)\" appears twice (a duplicate name is ambiguous: Go readers such as skopeo, umoci and containerd take the last)")
            }
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            position += 1
            skipWhitespace()
            path.append(.member(key))
            members.append((key, try parseValue(depth: depth + 1)))
            path.removeLast()
            skipWhitespace()
            guard position < bytes.count else { throw failure("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            throw failure("expected ',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws(OCISpecError) -> JSONValue {
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            path.append(.element(elements.count))
            elements.append(try parseValue(depth: depth + 1))
            path.removeLast()
            skipWhitespace()
            guard position < bytes.count else { throw failure("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            throw failure("expected ',' or ']'")
        }
    }

    private mutating func parseNumber() throws(OCISpecError) -> String {
        let start = position
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw failure("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw failure("invalid number") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw failure("invalid number") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func hex4() throws(OCISpecError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[position]
            let digit: UInt32
            switch b {
            case 0x30...0x39: digit = UInt32(b - 0x30)
            case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private mutating func parseString() throws(OCISpecError) -> String {
        position += 1
        var out: [UInt8] = []
        var runStart = position
        while true {
            guard position < bytes.count else { throw failure("unterminated string") }
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                out.append(contentsOf: bytes[runStart..<position])
                position += 1
                break
            }
            if b < 0x20 { throw failure("control character in string") }
            if b != UInt8(ascii: "\\") {
                position += 1
                continue
            }
            out.append(contentsOf: bytes[runStart..<position])
            position += 1
            guard position < bytes.count else { throw failure("unterminated escape") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw failure("unpaired surrogate")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw failure("unpaired surrogate")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid code point") }
                out.append(contentsOf: Array(String(Character(unicode)).utf8))
            default: throw failure("invalid escape")
            }
            runStart = position
        }
        guard let string = String(validating: out, as: UTF8.self) else { throw failure("string is not valid UTF-8") }
        return string
    }
}
