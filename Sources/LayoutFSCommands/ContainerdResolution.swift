import Containerd
import ContainerdStore
import ImageStore
import OCISpec

/// IMAGE arguments resolved against containerd's names (`--containerd`), with what a user of
/// several namespaces needs to hear: a name unknown in the chosen namespace but known in
/// another says so (Kubernetes keeps its images in `k8s.io`, Docker in `moby`).
enum ContainerdResolution {
    /// `docker://REF` goes to a registry through layoutfs's own store, not containerd's: refused
    /// with `--containerd`, saying what to do instead.
    /// - Throws: `CommandFailure`.
    static func refuseRegistryReferences(_ specifiers: [ImageSpecifier]) throws {
        for case .registry(let reference) in specifiers {
            throw CommandFailure(
                "docker://\(reference) and --containerd do not go together: --containerd shows containerd's images (pull with ctr, nerdctl or docker); "
                    + "drop --containerd to mount docker://\(reference) through layoutfs's own store")
        }
    }

    /// `store.resolve` of each specifier; an unknown name also lists the other namespaces of
    /// `source`'s containerd that have it.
    /// - Throws: `ImagesError` (with the hint added to `.unknownImage`).
    static func resolve(_ specifiers: [ImageSpecifier], in store: Store, source: ContainerdSource) async throws -> [ResolvedImage] {
        var resolved: [ResolvedImage] = []
        for specifier in specifiers {
            do {
                resolved.append(try store.resolve(specifier))
            } catch {
                guard error.code == .unknownImage, case .name(let reference) = specifier else { throw error }
                let elsewhere = await namespaces(having: reference.description, besides: source)
                guard !elsewhere.isEmpty else { throw error }
                let list = elsewhere.joined(separator: ", ")
                throw ImagesError(
                    .unknownImage, "\(error.message); namespace \(list) of that containerd has it: add --namespace \(elsewhere[0])", underlying: error)
            }
        }
        return resolved
    }

    /// The namespaces other than `source`'s where containerd has an image `name` (best effort:
    /// none when containerd cannot be asked).
    private static func namespaces(having name: String, besides source: ContainerdSource) async -> [String] {
        let chosen = source.client.namespace
        var found: [String] = []
        for namespace in ((try? await source.client.namespaces()) ?? []) where namespace != chosen {
            guard let client = try? ContainerdClient(socket: source.client.socket, namespace: namespace) else { continue }
            if (try? await client.image(named: name)) != nil { found.append(namespace) }
            await client.close()
        }
        return found
    }
}
