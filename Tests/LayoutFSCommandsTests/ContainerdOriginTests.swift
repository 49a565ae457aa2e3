import OCISpec
import Testing

@testable import LayoutFSCommands

/// Where content containerd lacks is fetched from (``ContainerdCompletion``): containerd's
/// `containerd.io/distribution.source.<host>` labels, which anyone may write with
/// `ctr content label`, else the image name.
@Suite("containerd completion origin")
struct ContainerdOriginTests {
    private let root = try! Digest(parsing: "sha256:" + String(repeating: "ab", count: 32))
    private let prefix = ContainerdCompletion.sourceLabelPrefix

    @Test("the label's host and repository, the port from the name when the hosts agree")
    func fromLabel() throws {
        let origin = ContainerdCompletion.origin(labels: [prefix + "127.0.0.1": "team/app"], name: "127.0.0.1:5000/team/app:1", root: root)
        #expect(origin?.description == "127.0.0.1:5000/team/app@\(root)")
        let single = ContainerdCompletion.origin(labels: [prefix + "registry": "team/app"], name: nil, root: root)
        #expect(single?.description == "registry/team/app@\(root)")
    }

    @Test(
        "a label whose repository climbs out (../../etc/passwd) or whose host has a path is passed over (it went into the registry URL): the next label, else the name"
    )
    func hostileLabels() throws {
        let climbing = ContainerdCompletion.origin(labels: [prefix + "127.0.0.1": "../../../etc/passwd"], name: "docker.io/library/app:1", root: root)
        #expect(climbing?.description == "docker.io/library/app@\(root)")
        let path = ContainerdCompletion.origin(labels: [prefix + "evil.example/x": "y"], name: nil, root: root)
        #expect(path == nil)
        let huge = ContainerdCompletion.origin(labels: [prefix + "r.example": String(repeating: "a", count: 3900)], name: nil, root: root)
        #expect(huge == nil)
        let second = ContainerdCompletion.origin(labels: [prefix + "r.example": "../x,good/repo"], name: nil, root: root)
        #expect(second?.description == "r.example/good/repo@\(root)")
    }

    @Test("with several labels, the name's host comes first, then the keys in order: every run asks the same registry")
    func severalLabels() throws {
        let labels = [prefix + "b.example": "b/app", prefix + "a.example": "a/app", prefix + "n.example": "n/app"]
        for _ in 0..<20 {
            #expect(ContainerdCompletion.origin(labels: labels, name: "n.example:443/n/app:1", root: root)?.description == "n.example:443/n/app@\(root)")
            #expect(ContainerdCompletion.origin(labels: labels, name: nil, root: root)?.description == "a.example/a/app@\(root)")
        }
    }
}
