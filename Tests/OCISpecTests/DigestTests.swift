import OCISpec
import Testing

let hex64 = String(repeating: "0123456789abcdef", count: 4)
let hex128 = String(repeating: "0123456789abcdef", count: 8)

@Suite("Digest")
struct DigestTests {
    @Test(
        "valid digests parse and keep their parts",
        arguments: [
            ("sha256:" + hex64, Digest.Algorithm.sha256, hex64),
            ("sha512:" + hex128, .sha512, hex128),
            ("sha256:" + String(repeating: "f", count: 64), .sha256, String(repeating: "f", count: 64)),
        ])
    func valid(text: String, algorithm: Digest.Algorithm, encoded: String) throws {
        let digest = try Digest(parsing: text)
        #expect(digest.algorithm == algorithm)
        #expect(digest.encoded == encoded)
        #expect(digest.description == text)
        #expect(digest.blobPath == "blobs/\(algorithm.rawValue)/\(encoded)")
        #expect(Digest.isValid(text))
    }

    @Test(
        "invalid digests are rejected before any path is built",
        arguments: [
            "sha256:../../etc/passwd",
            "sha256:" + hex64.uppercased(),
            "sha256:" + String(hex64.dropLast()) + "A",
            "sha256:" + String(hex64.dropLast()),
            "sha256:" + hex64 + "0",
            "sha512:" + hex64,
            "sha256:" + hex128,
            "md5:0123456789abcdef0123456789abcdef",
            "sha384:" + String(repeating: "ab", count: 48),
            "SHA256:" + hex64,
            "",
            ":",
            "sha256:",
            ":" + hex64,
            "sha256",
            hex64,
            "sha256:" + String(repeating: "g", count: 64),
            "sha256:" + String(hex64.dropLast(3)) + "/..",
            " sha256:" + hex64,
            "sha256:" + hex64 + "\n",
            "sha256: " + String(hex64.dropFirst()),
            "sha256:" + String(hex64.dropLast()) + "\u{0}",
        ])
    func invalid(text: String) {
        let error = #expect(throws: OCISpecError.self) { try Digest(parsing: text) }
        #expect(error?.code == .invalidDigest)
        #expect(!Digest.isValid(text))
    }

    @Test("the algorithm initializer checks the encoded part too")
    func algorithmInitializer() throws {
        #expect(try Digest(algorithm: .sha256, encoded: hex64).description == "sha256:" + hex64)
        #expect(throws: OCISpecError.self) { try Digest(algorithm: .sha256, encoded: "../" + String(hex64.dropFirst(3))) }
        #expect(throws: OCISpecError.self) { try Digest(algorithm: .sha512, encoded: hex64) }
    }

    @Test("an error message quotes the input without control characters")
    func messageIsSafe() {
        let error = #expect(throws: OCISpecError.self) { try Digest(parsing: "sha256:\u{1b}[2J") }
        #expect(error?.message.contains("\u{1b}") == false)
        #expect(error?.message.contains("sha256:") == true)
    }

    @Test("digests compare and hash by their text")
    func comparison() throws {
        let a = try Digest(parsing: "sha256:" + String(repeating: "0", count: 64))
        let b = try Digest(parsing: "sha256:" + String(repeating: "1", count: 64))
        #expect(a < b)
        #expect(Set([a, b, a]).count == 2)
        #expect(a.short == "sha256:000000000000")
    }
}
