import ArgumentParser
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// The `REPOSITORY[:TAG]` argument of `images`, as `docker images` takes it: a repository keeps
/// every tag of it (`alpine` is `docker.io/library/alpine`), `REPOSITORY:TAG` one name, and a
/// pattern with `*` or `?` is matched (fnmatch, `*` not crossing `/`) against both the full
/// repository and its familiar form (`deb/*` matches `docker.io/deb/like`).
struct ImageFilter {
    private enum Rule {
        case repository(String)
        case name(String)
        case pattern(String)
    }

    private let rule: Rule

    /// - Throws: `ValidationError` for text that is neither a pattern nor a valid reference.
    init(_ text: String) throws {
        if text.contains("*") || text.contains("?") {
            rule = .pattern(text)
            return
        }
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: text)
        } catch {
            throw ValidationError("\(text) is not a repository or image name: \(error)")
        }
        let lastComponent = text.split(separator: "/").last ?? ""
        rule = lastComponent.contains(":") || text.contains("@") ? .name(reference.description) : .repository(reference.repository)
    }

    /// Whether the normalized image name `name` passes.
    func matches(_ name: String) -> Bool {
        guard let reference = try? ImageReference(parsing: name) else { return false }
        switch rule {
        case .repository(let repository): return reference.repository == repository
        case .name(let wanted): return name == wanted
        case .pattern(let pattern):
            return [reference.repository, Self.familiar(reference)].contains { (candidate: String) in fnmatch(pattern, candidate, FNM_PATHNAME) == 0 }
        }
    }

    /// The items whose name passes.
    func selecting<Item>(_ items: [Item], name: (Item) -> String) -> [Item] {
        items.filter { matches(name($0)) }
    }

    /// The repository as docker shows it: without `docker.io/` and `library/`.
    static func familiar(_ reference: ImageReference) -> String {
        guard reference.domain == "docker.io" else { return reference.repository }
        return reference.path.hasPrefix("library/") ? String(reference.path.dropFirst("library/".count)) : reference.path
    }
}
