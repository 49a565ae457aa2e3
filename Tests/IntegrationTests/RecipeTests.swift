import Foundation
import TestSupport
import Testing

/// README's recipes (section "Recipes"), each block run as written in a real bash: podman,
/// buildah, skopeo, ctr and docker against a mount or an export of the demo image (issue 16).
/// Only the registry address is put in for `localhost:5000`; containerd and dockerd are the
/// test's own, through `CONTAINERD_ADDRESS` and `DOCKER_HOST`; podman and buildah keep their
/// images in the test's directory (vfs), with `nofile`/`nproc` limits this sandbox allows.
@Suite("README recipes")
struct RecipeTests {
    /// The shell block after `<!-- recipe: NAME -->` in README.md.
    static func recipe(_ name: String) throws -> String {
        let readme = try String(contentsOfFile: Harness.repositoryRoot + "/README.md", encoding: .utf8)
        let marker = try #require(readme.range(of: "<!-- recipe: \(name) -->\n```sh\n"), "README has no recipe \(name)")
        let end = try #require(readme[marker.upperBound...].range(of: "\n```\n"))
        return String(readme[marker.upperBound..<end.lowerBound])
    }

    /// Runs recipe `name` in `work/recipe`, the demo image in the store, and returns its result.
    @discardableResult
    static func run(_ name: String, work: String, registry: RegistryServer? = nil, environment: [String: String] = [:]) throws -> RunResult {
        try Harness.importDemo(work: work, store: work + "/store")
        let bin = work + "/bin"
        let scratch = work + "/recipe"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin + "/layoutfs", withDestinationPath: Harness.binary)
        try "[storage]\ndriver = \"vfs\"\ngraphroot = \"\(work)/containers/graph\"\nrunroot = \"\(work)/containers/run\"\n"
            .write(toFile: work + "/storage.conf", atomically: true, encoding: .utf8)
        try "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n"
            .write(toFile: work + "/containers.conf", atomically: true, encoding: .utf8)
        var script = try recipe(name)
        if let registry { script = script.replacingOccurrences(of: "localhost:5000", with: registry.address) }
        var env = environment
        env["PATH"] = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        env["LAYOUTFS_ROOT"] = work + "/store"
        env["CONTAINERS_STORAGE_CONF"] = work + "/storage.conf"
        env["CONTAINERS_CONF"] = work + "/containers.conf"
        let result = try Harness.run(["bash", "-c", "cd \"$1\" && set -euxo pipefail && eval \"$2\"", "recipe", scratch, script], environment: env)
        #expect(result.succeeded, "recipe \(name) exited \(result.status)\nstdout: \(result.stdout)\nstderr: \(result.stderr)")
        return result
    }

    @Test("podman pulls from a mount and runs the image")
    func podman() throws {
        try Harness.requireFUSE()
        try Harness.require("podman")
        try Harness.withWorkDirectory { work in
            let result = try Self.run("podman", work: work)
            #expect(result.stdout.contains("hello from a mount"), "\(result.stdout)")
            let images = try Harness.run(
                ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"], environment: ["CONTAINERS_STORAGE_CONF": work + "/storage.conf"])
            #expect(images.stdout.contains("docker.io/demo/busybox:1.35"), "\(images.stdout)")
        }
    }

    @Test("podman pulls from a lazy mount: inspecting fetched nothing, the pull fetched every layer")
    func podmanLazy() throws {
        try Harness.requireFUSE()
        try Harness.require("podman", "skopeo")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Harness.makeDemoImage(at: work + "/pushed")
            try registry.push(layout: work + "/pushed", tag: "1.35", to: "team/busybox:1.35")
            let result = try Self.run("podman-lazy", work: work, registry: registry)
            // Before the pull, images showed the layers as lazy; after it, nothing is.
            #expect(result.stdout.contains("lazy)"), "\(result.stdout)")
            let after = try Harness.layoutfs(["images", "--json", "\(registry.address)/team/busybox"], store: work + "/store").stdout
            let images = try JSONSerialization.jsonObject(with: Data(after.utf8)) as? [[String: Any]]
            #expect(images?.count == 1 && images?.first?["lazyBytes"] as? Int == 0, "\(after)")
        }
    }

    @Test("buildah builds FROM oci:MNT:TAG, and the result imports")
    func buildah() throws {
        try Harness.requireFUSE()
        try Harness.require("buildah")
        try Harness.withWorkDirectory { work in
            try Self.run("buildah", work: work)
            let config = try Harness.layoutfs(["export", "demo/derived:1", "--materialize", work + "/out"], store: work + "/store")
            #expect(config.succeeded)
            let labels = try Harness.runOK(["skopeo", "inspect", "oci:\(work)/out:1"]).stdout
            #expect(labels.contains(#""org.example.built-from": "layoutfs""#), "\(labels)")
        }
    }

    @Test("skopeo copies a mount to a registry, and layoutfs and skopeo bring it back with the same digest")
    func skopeo() throws {
        try Harness.requireFUSE()
        try Harness.require("skopeo")
        try Harness.withWorkDirectory { work in
            let registry = try RegistryServer(directory: work + "/registry")
            try Self.run("skopeo", work: work, registry: registry)
            let digests = try ["docker.io/demo/busybox:1.35", "\(registry.address)/team/copied:1.35", "docker.io/team/copied:from-skopeo"].map { name in
                try Harness.layoutfs(["images", "-q", "--no-trunc", name], store: work + "/store").stdout
            }
            #expect(Set(digests).count == 1 && digests[0].hasPrefix("sha256:"), "\(digests)")
        }
    }

    @Test("ctr imports an export and exports it back")
    func ctr() throws {
        try Harness.withWorkDirectory { work in
            let containerd = try ContainerdServer(directory: work + "/containerd")
            try Self.run("ctr", work: work, environment: ["CONTAINERD_ADDRESS": containerd.socket])
        }
    }

    @Test("docker loads an export")
    func docker() throws {
        try Harness.withWorkDirectory { work in
            let docker = try DockerServer(directory: work + "/docker")
            let result = try Self.run("docker", work: work, environment: ["DOCKER_HOST": "unix://" + docker.socket])
            #expect(result.stdout.contains("Loaded image: demo/busybox:1.35"), "\(result.stdout)")
            #expect(result.stdout.contains("[sha256:"), "\(result.stdout)")
        }
    }
}
