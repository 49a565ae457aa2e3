import OCISpec
import Testing

@Suite("ImageReference")
struct ReferenceTests {
    @Test(
        "references normalize like docker and containerd",
        arguments: [
            ("alpine", "docker.io/library/alpine:latest"),
            ("alpine:3.19", "docker.io/library/alpine:3.19"),
            ("library/alpine", "docker.io/library/alpine:latest"),
            ("docker.io/alpine", "docker.io/library/alpine:latest"),
            ("docker.io/library/alpine:latest", "docker.io/library/alpine:latest"),
            ("index.docker.io/library/alpine:edge", "docker.io/library/alpine:edge"),
            ("demo/busybox:1.35", "docker.io/demo/busybox:1.35"),
            ("localhost:5000/a/b:t", "localhost:5000/a/b:t"),
            ("localhost:5000/x", "localhost:5000/x:latest"),
            ("localhost/x", "localhost/x:latest"),
            ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"),
            ("ghcr.io/org/repo/sub:v1.0-rc_1", "ghcr.io/org/repo/sub:v1.0-rc_1"),
            ("a__b/c-d.e--f:T_1", "docker.io/a__b/c-d.e--f:T_1"),
            ("alpine@sha256:\(hex64)", "docker.io/library/alpine@sha256:\(hex64)"),
            ("alpine:3@sha256:\(hex64)", "docker.io/library/alpine:3@sha256:\(hex64)"),
            ("localhost:5000/x@sha512:\(hex128)", "localhost:5000/x@sha512:\(hex128)"),
            ("[::1]:5000/x", "[::1]:5000/x:latest"),
            ("localhost", "docker.io/library/localhost:latest"),
        ])
    func normalize(text: String, normalized: String) throws {
        let reference = try ImageReference(parsing: text)
        #expect(reference.description == normalized)
        // Normalizing is idempotent.
        #expect(try ImageReference(parsing: reference.description) == reference)
    }

    @Test("the parts are split as the grammar says")
    func parts() throws {
        let reference = try ImageReference(parsing: "localhost:5000/a/b:t@sha256:\(hex64)")
        #expect(reference.domain == "localhost:5000")
        #expect(reference.path == "a/b")
        #expect(reference.tag == "t")
        #expect(reference.digest?.encoded == hex64)
        #expect(reference.repository == "localhost:5000/a/b")
        #expect(reference.withTag("u").description == "localhost:5000/a/b:u")
        let byDigest = try ImageReference(parsing: "alpine@sha256:\(hex64)")
        #expect(byDigest.tag == nil)
    }

    @Test(
        "invalid references are rejected",
        arguments: [
            "", "Alpine", "docker.io/Library/alpine", "alpine:", ":tag", "a//b", "/a", "a/", "alpine:-bad", "alpine:.bad",
            "alpine:" + String(repeating: "t", count: 129), "a b", "-a", "a-", "a..b", "a___b", "localhost:/x", "alpine:tag:x",
            "https://alpine", "ALPINE:latest", "a/B", String(repeating: "a", count: 513), "alpine@", "alpine@sha256:abc",
            "alpine@sha256:../../etc/passwd", "alpine@sha256:\(hex64.uppercased())", "émoji/x",
        ])
    func invalid(text: String) {
        #expect(throws: OCISpecError.self) { try ImageReference(parsing: text) }
    }

    @Test("an uppercase repository is an invalid reference; a bad digest is an invalid digest")
    func errorCodes() {
        #expect((#expect(throws: OCISpecError.self) { try ImageReference(parsing: "Alpine") })?.code == .invalidReference)
        #expect((#expect(throws: OCISpecError.self) { try ImageReference(parsing: "alpine@sha256:1") })?.code == .invalidDigest)
    }

    @Test("a name has at most 255 characters (registry and repository, as normalized), a tag 128, and the error says which")
    func lengthLimits() throws {
        // 255 exactly: accepted.
        let longest = "example.com/" + String(repeating: "a", count: 243)
        #expect(try ImageReference(parsing: longest).repository.count == 255)
        #expect(try ImageReference(parsing: "x:" + String(repeating: "t", count: 128)).tag?.count == 128)
        // The issue's 318-character repository, and names that are too long only once normalized.
        for text in [
            "example.com/" + String(repeating: "a", count: 244), "demo/" + String(repeating: "b", count: 313),
            String(repeating: "c", count: 238) + ":1",
        ] {
            let error = #expect(throws: OCISpecError.self) { try ImageReference(parsing: text) }
            #expect(error?.code == .invalidReference)
            #expect(error?.message.contains("more than the 255 a name may have") == true, "\(error?.message ?? "")")
        }
        #expect(try ImageReference(parsing: String(repeating: "c", count: 237)).repository.count == 255)
        let tagError = #expect(throws: OCISpecError.self) { try ImageReference(parsing: "x:" + String(repeating: "t", count: 129)) }
        #expect(tagError?.message.contains("the tag has 129 characters, more than the 128 a tag may have") == true, "\(tagError?.message ?? "")")
        let hugeError = #expect(throws: OCISpecError.self) { try ImageReference(parsing: String(repeating: "d", count: 2000)) }
        #expect(hugeError?.message.contains("a name may have at most 255") == true)
    }

    @Test("tags: word characters, dots and dashes, 1 to 128, not starting with . or -")
    func tags() {
        #expect(ImageReference.isValidTag("latest"))
        #expect(ImageReference.isValidTag("_x"))
        #expect(ImageReference.isValidTag(String(repeating: "t", count: 128)))
        #expect(!ImageReference.isValidTag(String(repeating: "t", count: 129)))
        #expect(!ImageReference.isValidTag(""))
        #expect(!ImageReference.isValidTag(".x"))
        #expect(!ImageReference.isValidTag("a/b"))
        #expect(!ImageReference.isValidTag("a:b"))
    }
}

@Suite("ImageSpecifier")
struct ImageSpecifierTests {
    @Test("sha256:<hex> and sha512:<hex> are digests, never repository names")
    func digests() throws {
        #expect(try ImageSpecifier(parsing: "sha256:\(hex64)") == .digest(Digest(parsing: "sha256:\(hex64)")))
        #expect(try ImageSpecifier(parsing: "sha512:\(hex128)") == .digest(Digest(parsing: "sha512:\(hex128)")))
        // Read as a reference, this would be repository "sha256" with a 64-character tag.
        #expect(try ImageReference(parsing: "sha256:\(hex64)").path == "library/sha256")
    }

    @Test("a malformed digest is an error, not a repository", arguments: ["sha256:abc", "sha256:\(hex64.uppercased())", "sha512:\(hex64)", "sha256:"])
    func malformedDigest(text: String) {
        let error = #expect(throws: OCISpecError.self) { try ImageSpecifier(parsing: text) }
        #expect(error?.code == .invalidDigest)
    }

    @Test(
        "the grammar is tried in order",
        arguments: [
            ("docker://alpine", "docker://docker.io/library/alpine:latest", "registry"),
            ("docker://localhost:5000/a:1", "docker://localhost:5000/a:1", "registry"),
            ("alpine", "docker.io/library/alpine:latest", "name"),
            ("demo/busybox:1.35", "docker.io/demo/busybox:1.35", "name"),
            ("demo/busybox@sha256:\(hex64)", "docker.io/demo/busybox@sha256:\(hex64)", "name"),
            ("sha256:\(hex64)", "sha256:\(hex64)", "digest"),
            (hex64, "sha256:\(hex64)", "digest"),
            ("sha256:\(hex64.prefix(12))", "sha256:\(hex64.prefix(12))", "prefix"),
            (String(hex64.prefix(12)), String(hex64.prefix(12)), "prefix"),
        ])
    func grammar(text: String, description: String, kind: String) throws {
        let specifier = try ImageSpecifier(parsing: text)
        #expect(specifier.description == description)
        switch specifier {
        case .digest: #expect(kind == "digest")
        case .digestPrefix: #expect(kind == "prefix")
        case .registry: #expect(kind == "registry")
        case .name: #expect(kind == "name")
        }
    }

    @Test("a digest prefix of 12 to 63 hex digits, with or without sha256:; 64 bare hex digits are a digest (docker's rule for IDs)")
    func digestPrefixes() throws {
        let short = String(hex64.prefix(12))
        let prefix = try #require(DigestPrefix(hex: short))
        #expect(try ImageSpecifier(parsing: "sha256:" + short) == .digestPrefix(prefix, orName: nil))
        // Bare hex is also a valid repository name: kept as the fallback, tried second.
        let asName = try ImageReference(parsing: "docker.io/library/\(short):latest")
        #expect(try ImageSpecifier(parsing: short) == .digestPrefix(prefix, orName: asName))
        let long = String(hex64.prefix(63))
        let longPrefix = try #require(DigestPrefix(hex: long))
        #expect(try ImageSpecifier(parsing: long) == .digestPrefix(longPrefix, orName: try ImageReference(parsing: long)))
        #expect(try ImageSpecifier(parsing: hex64) == .digest(Digest(parsing: "sha256:\(hex64)")))
        // Fewer than 12 bare digits, or uppercase hex, is a name as before.
        #expect(try ImageSpecifier(parsing: String(hex64.prefix(11))) == .name(ImageReference(parsing: String(hex64.prefix(11)))))
        #expect(throws: OCISpecError.self) { try ImageSpecifier(parsing: short.uppercased()) }
        let tooShort = #expect(throws: OCISpecError.self) { try ImageSpecifier(parsing: "sha256:" + hex64.prefix(11)) }
        #expect(tooShort?.code == .invalidDigest)
        #expect(tooShort?.message.contains("at least its first 12 lowercase hex digits") == true)
        #expect(prefix.matches(try Digest(parsing: "sha256:\(hex64)")))
        #expect(!prefix.matches(try Digest(parsing: "sha512:\(hex128)")))
        #expect(DigestPrefix(hex: hex64) == nil)
    }

    @Test("NAME@digest keeps the digest to pin the view")
    func pinned() throws {
        guard case .name(let reference) = try ImageSpecifier(parsing: "demo/busybox:1.35@sha256:\(hex64)") else {
            Issue.record("not a name")
            return
        }
        #expect(reference.digest?.encoded == hex64)
        #expect(reference.tag == "1.35")
    }

    @Test("invalid names are rejected", arguments: ["Alpine", "docker://", "docker://Alpine", ""])
    func invalid(text: String) {
        #expect(throws: OCISpecError.self) { try ImageSpecifier(parsing: text) }
    }
}
