import CLinuxShims
import Foundation
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// Credentials from docker's `config.json` (`$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`), as docker and skopeo read it: `credHelpers[host]`, else
/// `credsStore`, through the `docker-credential-<name> get` helper protocol (server on stdin,
/// `{"Username","Secret"}` on stdout, `Username` `<token>` making `Secret` an identity token);
/// else `auths[host].auth` (base64 `user:password`) with `auths[host].identitytoken` when there.
/// docker.io is looked up under `https://index.docker.io/v1/` too.
public struct DockerConfigCredentials: CredentialProvider {
    public let path: String

    public init(path: String? = nil) {
        let environment = ProcessInfo.processInfo.environment
        if let path {
            self.path = path
        } else if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty {
            self.path = directory + "/config.json"
        } else {
            self.path = (environment["HOME"] ?? "/root") + "/.docker/config.json"
        }
    }

    public func credentials(for host: String) throws(RegistryError) -> Credentials? {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4 << 20 else { return nil }
        guard let config = try? JSONParser.parse(Array(data)) else {
            throw RegistryError(.invalidArgument, "\(path) is not valid JSON")
        }
        let keys =
            host == "docker.io"
            ? ["docker.io", "https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io"] : [host, "https://\(host)", "http://\(host)"]
        for key in keys {
            if let helper = config["credHelpers"]?[key]?.stringValue { return try Self.runHelper(helper, server: key) }
        }
        for key in keys {
            guard let entry = config["auths"]?[key] else { continue }
            if let encoded = entry["auth"]?.stringValue, let decoded = Data(base64Encoded: encoded),
                let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
            {
                return Credentials(
                    username: String(text[..<colon]), password: String(text[text.index(after: colon)...]),
                    identityToken: entry["identitytoken"]?.stringValue)
            }
            // An entry holding only an identity token (no `auth`) is used as docker uses it.
            if let identityToken = entry["identitytoken"]?.stringValue, !identityToken.isEmpty {
                return Credentials(username: "", password: "", identityToken: identityToken)
            }
        }
        if let store = config["credsStore"]?.stringValue {
            for key in keys { if let found = try Self.runHelper(store, server: key) { return found } }
        }
        return nil
    }

    /// Runs `docker-credential-<name> get`. "credentials not found" is nil, not an error.
    static func runHelper(_ name: String, server: String) throws(RegistryError) -> Credentials? {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw RegistryError(.invalidArgument, "invalid credential helper name \"\(name)\"")
        }
        let program = "docker-credential-\(name)"
        let base = "/tmp/layoutfs-credential-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let inFd = open(base + ".in", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        let outFd = open(base + ".out", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        let nullFd = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer {
            close(inFd)
            close(outFd)
            close(nullFd)
            unlink(base + ".in")
            unlink(base + ".out")
        }
        guard inFd >= 0, outFd >= 0 else { throw RegistryError(.transport, "cannot run \(program): no temporary file") }
        _ = server.withCString { write(inFd, $0, strlen($0)) }
        lseek(inFd, 0, SEEK_SET)
        var pid: pid_t = 0
        let arguments = [program, "get"]
        let environment = ProcessInfo.processInfo.environment.map { "\($0)=\($1)" }
        let rc = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in lfs_spawn(program, argv, envp, inFd, outFd, nullFd, &pid) }
        }
        guard rc == 0 else { throw RegistryError(.unauthorized, "cannot run credential helper \(program): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        if output.localizedCaseInsensitiveContains("credentials not found") { return nil }
        guard status == 0, let json = try? JSONParser.parse(Array(output.utf8)), let username = json["Username"]?.stringValue,
            let secret = json["Secret"]?.stringValue
        else {
            throw RegistryError(.unauthorized, "credential helper \(program) failed for \(server)")
        }
        if username == "<token>" { return Credentials(username: "", password: "", identityToken: secret) }
        return Credentials(username: username, password: secret)
    }
}
