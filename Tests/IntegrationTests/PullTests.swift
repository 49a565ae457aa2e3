import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `layoutfs pull` against a real distribution registry.
@Suite("pull from a real registry", .serialized)
struct PullTests {
    @Test("an anonymous pull is byte-identical to the pushed image; a second pull fetches nothing")
    func anonymousPull() throws {
        try Harness.require("skopeo", "oci-image-tool")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/src")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/busybox:1.35")
            let store = work + "/store"
            let pulled = try Harness.layoutfs(["pull", "\(registry.address)/team/busybox:1.35"], store: store)
            #expect(pulled.stdout.contains("pulled \(registry.address)/team/busybox:1.35 sha256:"), "\(pulled.stdout)")
            #expect(pulled.stdout.contains("fetched 3 blobs"), "\(pulled.stdout)")
            #expect(try Harness.layoutfs(["images"], store: store).stdout.contains("\(registry.address)/team/busybox:1.35"))

            // Every blob equals the source's (skopeo pushes OCI layouts unchanged).
            try Harness.layoutfs(["export", "\(registry.address)/team/busybox:1.35", "--materialize", work + "/out"], store: store)
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            let sourceBlobs = Set(try FileManager.default.contentsOfDirectory(atPath: work + "/src/blobs/sha256"))
            let pulledBlobs = Set(try FileManager.default.contentsOfDirectory(atPath: work + "/out/blobs/sha256"))
            #expect(pulledBlobs == sourceBlobs)
            for blob in pulledBlobs {
                try Harness.runOK(["cmp", work + "/out/blobs/sha256/" + blob, work + "/src/blobs/sha256/" + blob])
            }
            let again = try Harness.layoutfs(["pull", "\(registry.address)/team/busybox:1.35"], store: store)
            #expect(again.stdout.contains("fetched 0 blobs"), "\(again.stdout)")
            #expect(again.stdout.contains("skipped 3"))
        }
    }

    /// The demo image pushed to a real registry as team/lazy:1 and pulled lazily into a store;
    /// `body` gets the work directory, the store, the reference and the pull's output.
    func withLazilyPulledDemo(_ body: (_ work: String, _ store: String, _ reference: String, _ pull: RunResult) throws -> Void) throws {
        try Harness.withWorkDirectory { work in
            let (registry, reference) = try RegistryServer.holdingDemo(work, as: "team/lazy:1")
            let store = work + "/store"
            let pull = try Harness.layoutfs(["pull", "--lazy", reference], store: store)
            try withExtendedLifetime(registry) { try body(work, store, reference, pull) }
        }
    }

    @Test("pull --lazy fetches manifests and config only and records the layers; export fetches them; a full pull then has nothing to fetch")
    func lazyPull() throws {
        try Harness.requireFUSE()
        try withLazilyPulledDemo { work, store, reference, lazy in
            #expect(lazy.stdout.contains("fetched 1 blob "), "the config only: \(lazy.stdout)")
            #expect(lazy.stdout.contains("recorded 2 layers"), "\(lazy.stdout)")
            let listing = try Harness.layoutfs(["images"], store: store).stdout
            #expect(listing.contains(reference) && listing.contains("lazy"), "\(listing)")
            let local = Set(try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256"))
            #expect(local.count == 2, "manifest and config: \(local)")

            let export = try Harness.layoutfs(["export", reference, "--materialize", work + "/out"], store: store)
            #expect(export.stdout.contains("copied 4 blobs") && export.stdout.contains("fetched 2"), "\(export.stdout)")
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            for blob in try FileManager.default.contentsOfDirectory(atPath: work + "/out/blobs/sha256") {
                try Harness.runOK(["cmp", work + "/out/blobs/sha256/" + blob, work + "/src/blobs/sha256/" + blob])
            }
            // The fetched layers went into the store: a full pull has nothing left to fetch.
            let full = try Harness.layoutfs(["pull", reference], store: store)
            #expect(full.stdout.contains("fetched 0 blobs") && full.stdout.contains("skipped 3"), "\(full.stdout)")
        }
    }

    @Test("export --no-store writes lazy blobs into the layout only, verified; the store stays without them")
    func lazyExportWithoutStore() throws {
        try withLazilyPulledDemo { work, store, reference, _ in
            let before = Set(try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256"))
            let export = try Harness.layoutfs(["export", reference, "--materialize", work + "/out", "--no-store"], store: store)
            #expect(export.stdout.contains("copied 2 blobs") && export.stdout.contains("skipped 0") && export.stdout.contains("fetched 2"), "\(export.stdout)")
            try Harness.runOK(["oci-image-tool", "validate", "--type", "image", work + "/out"])
            for blob in try FileManager.default.contentsOfDirectory(atPath: work + "/out/blobs/sha256") {
                try Harness.runOK(["cmp", work + "/out/blobs/sha256/" + blob, work + "/src/blobs/sha256/" + blob])
            }
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: store + "/content/blobs/sha256")) == before)
            // Again: everything is there, nothing is fetched.
            let again = try Harness.layoutfs(["export", reference, "--materialize", work + "/out", "--no-store"], store: store)
            #expect(again.stdout.contains("copied 0 blobs") && again.stdout.contains("fetched 0"), "\(again.stdout)")
            // A wrong lazy blob of the right size: --verify-existing fetches it again.
            let layer = try #require(Set(try FileManager.default.contentsOfDirectory(atPath: work + "/out/blobs/sha256")).subtracting(before).first)
            let path = work + "/out/blobs/sha256/" + layer
            let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            try FileManager.default.removeItem(atPath: path)
            try Data(count: size).write(to: URL(fileURLWithPath: path))
            try Harness.layoutfs(["export", reference, "--materialize", work + "/out", "--no-store", "--verify-existing"], store: store)
            try Harness.runOK(["cmp", path, work + "/src/blobs/sha256/" + layer])
        }
    }

    @Test("an unknown tag or repository is a clear error and names nothing")
    func notFound() throws {
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            let result = try Harness.layoutfs(["pull", "\(registry.address)/team/nothing:1"], store: work + "/store", expectSuccess: false)
            #expect(result.status != 0)
            #expect(result.stderr.contains("layoutfs: error:"))
            #expect(result.stderr.contains("404"), "\(result.stderr)")
            #expect(!(try Harness.layoutfs(["images"], store: work + "/store").stdout.contains("team/nothing")))
        }
    }

    @Test("htpasswd basic auth: refused without credentials, pulled with them from docker's config.json")
    func basicAuth() throws {
        try withPrivateRegistry { work, registry in
            let store = work + "/store"
            let reference = "\(registry.address)/team/private:1"

            let empty = work + "/no-docker-config"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
            let refused = try Harness.run([Harness.binary, "pull", reference, "--root", store], environment: ["DOCKER_CONFIG": empty])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("layoutfs: error:"))
            #expect(refused.stderr.contains("password") || refused.stderr.contains("401"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("s3cret"))

            let wrong = work + "/wrong-docker-config"
            try Self.writeDockerConfig(at: wrong, host: registry.address, user: "tester", password: "nope")
            let denied = try Harness.run([Harness.binary, "pull", reference, "--root", store], environment: ["DOCKER_CONFIG": wrong])
            #expect(denied.status != 0)
            #expect(!denied.stderr.contains("nope"), "credentials must never be printed")

            let right = work + "/docker-config"
            try Self.writeDockerConfig(at: right, host: registry.address, user: "tester", password: "s3cret")
            let pulled = try Harness.run([Harness.binary, "pull", reference, "--root", store], environment: ["DOCKER_CONFIG": right])
            #expect(pulled.succeeded, "\(pulled.stderr)")
            #expect(pulled.stdout.contains("fetched 3 blobs"))
        }
    }

    @Test("credentials from a docker-credential helper (credHelpers, then credsStore), by the helper protocol")
    func credentialHelpers() throws {
        try withPrivateRegistry { work, registry in
            // A helper speaking the docker-credential protocol: server URL on stdin, JSON on stdout.
            let bin = work + "/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            let helper = """
                #!/bin/sh
                [ "$1" = get ] || exit 1
                read server
                echo "$server" >> \(work)/helper-calls
                if [ "$server" = "\(registry.address)" ]; then
                  printf '{"ServerURL":"%s","Username":"tester","Secret":"s3cret"}' "$server"
                else
                  echo "credentials not found in native keychain"; exit 1
                fi
                """
            // Written through an O_CLOEXEC descriptor: one inherited by a process another test
            // spawns meanwhile would make exec fail with ETXTBSY.
            let fd = open(bin + "/docker-credential-layoutfstest", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
            #expect(fd >= 0)
            _ = Array(helper.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            for (index, config) in [#"{"credHelpers":{"\#(registry.address)":"layoutfstest"}}"#, #"{"credsStore":"layoutfstest"}"#].enumerated() {
                let directory = work + "/config\(index)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try config.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
                let pulled = try Harness.run(
                    [Harness.binary, "pull", "\(registry.address)/team/private:1", "--root", work + "/store\(index)"],
                    environment: ["DOCKER_CONFIG": directory, "PATH": path])
                #expect(pulled.succeeded, "\(config): \(pulled.stderr)")
            }
            let calls = try String(contentsOfFile: work + "/helper-calls", encoding: .utf8)
            #expect(calls.contains(registry.address))
        }
    }

    @Test("a redirected blob is fetched from the new location without the registry's credentials")
    func redirectWithoutCredentials() throws {
        try withPrivateRegistry { work, registry in
            let proxy = try FaultProxy(upstream: registry, directory: work + "/proxy")
            try proxy.setFaults([.init(match: "/blobs/", fault: "redirect")])
            let config = work + "/docker-config"
            try Self.writeDockerConfig(at: config, host: proxy.address, user: "tester", password: "s3cret")
            let pulled = try Harness.run(
                [Harness.binary, "pull", "\(proxy.address)/team/private:1", "--root", work + "/store"], environment: ["DOCKER_CONFIG": config])
            #expect(pulled.succeeded, "\(pulled.stderr)")
            let faults = try proxy.requests(matching: "/blobs/").compactMap(\.fault)
            #expect(faults.filter { $0 == "redirect" }.count == 3)
            #expect(faults.filter { $0 == "redirected-without-auth" }.count == 3)
            #expect(!faults.contains("redirected-with-auth"), "credentials must not follow a redirect to another host")
        }
    }

    /// A registry with htpasswd basic auth (tester / s3cret) holding the demo image as
    /// team/private:1.
    func withPrivateRegistry(_ body: (_ work: String, _ registry: RegistryServer) throws -> Void) throws {
        try Harness.require("htpasswd", "skopeo")
        try Harness.withWorkDirectory { work in
            try Harness.runOK(["htpasswd", "-B", "-C", "4", "-b", "-c", work + "/htpasswd", "tester", "s3cret"])
            let registry = try RegistryServer(directory: work + "/registry", htpasswd: work + "/htpasswd")
            try Harness.makeDemoImage(at: work + "/src")
            try registry.push(layout: work + "/src", tag: "1.35", to: "team/private:1", credentials: "tester:s3cret")
            try body(work, registry)
        }
    }

    static func writeDockerConfig(at directory: String, host: String, user: String, password: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        try #"{"auths":{"\#(host)":{"auth":"\#(auth)"}}}"#.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
    }
}
