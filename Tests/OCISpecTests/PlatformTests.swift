import OCISpec
import Testing

@Suite("Platform")
struct PlatformTests {
    @Test(
        "os/architecture[/variant] parses and normalizes",
        arguments: [
            ("linux/amd64", "linux/amd64"),
            ("linux/x86_64", "linux/amd64"),
            ("linux/x86-64", "linux/amd64"),
            ("linux/aarch64", "linux/arm64"),
            ("linux/arm64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64/v8"),
            ("linux/arm64/8", "linux/arm64/v8"),
            ("linux/aarch64/v8", "linux/arm64/v8"),
            ("linux/arm/v7", "linux/arm/v7"),
            ("linux/armhf", "linux/arm/v7"),
            ("linux/armel", "linux/arm/v6"),
            ("linux/i386", "linux/386"),
            ("Linux/AMD64", "linux/amd64"),
            ("windows/amd64", "windows/amd64"),
            ("linux/s390x", "linux/s390x"),
        ])
    func parse(text: String, normalized: String) throws {
        #expect(try Platform(parsing: text).description == normalized)
    }

    @Test("invalid platform strings are rejected", arguments: ["", "linux", "linux/", "/amd64", "linux//v8", "linux/arm64/v8/x", "/", "a/b/"])
    func invalid(text: String) {
        let error = #expect(throws: OCISpecError.self) { try Platform(parsing: text) }
        #expect(error?.code == .invalidPlatform)
    }

    @Test(
        "a wanted platform matches an image's platform as containerd does",
        arguments: [
            ("linux/amd64", "linux/amd64", true),
            ("linux/x86_64", "linux/amd64", true),
            ("linux/amd64", "linux/x86_64", true),
            ("linux/aarch64", "linux/arm64/v8", true),
            ("linux/arm64", "linux/arm64/v8", true),
            ("linux/arm64/v8", "linux/arm64", true),
            ("linux/arm64/v8", "linux/aarch64", true),
            ("linux/arm64/v8", "linux/arm64/8", true),
            ("linux/arm64/v9", "linux/arm64", false),
            ("linux/amd64", "linux/arm64", false),
            ("linux/arm64", "linux/amd64", false),
            ("linux/arm/v7", "linux/arm/v6", false),
            ("linux/arm/v7", "linux/arm/v7", true),
            ("linux/amd64", "windows/amd64", false),
            ("linux/amd64", "unknown/unknown", false),
        ])
    func matching(wanted: String, candidate: String, expected: Bool) throws {
        let wantedPlatform = try Platform(parsing: wanted)
        let parts = candidate.split(separator: "/").map(String.init)
        // The candidate as an image would carry it (not normalized by parsing).
        let candidatePlatform = Platform(os: parts[0], architecture: parts[1], variant: parts.count > 2 ? parts[2] : nil)
        #expect(wantedPlatform.matches(candidatePlatform) == expected)
    }

    @Test("os.version and unknown members survive a round trip")
    func roundTrip() throws {
        let text = #"{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1879","os.features":["win32k"],"x":1}"#
        let platform = try Platform(json: JSONParser.parse(Array(text.utf8)))
        #expect(platform.osVersion == "10.0.17763.1879")
        #expect(String(decoding: platform.json.encoded, as: UTF8.self) == text)
    }

    @Test("the current platform is linux")
    func current() {
        #expect(Platform.current.os == "linux")
        #expect(Platform.current.matches(Platform.current))
    }
}
