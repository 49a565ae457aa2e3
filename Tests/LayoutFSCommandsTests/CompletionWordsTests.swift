import Testing

@testable import LayoutFSCommands

/// How a custom completion reads the shell's words: `--root` on the line, and image names that
/// bash split at their colons.
@Suite("completion words")
struct CompletionWordsTests {
    static func words(_ words: [String], prefix: String? = nil, bash: Bool = true) -> CompletionWords {
        CompletionWords(words: words, index: words.count - 1, prefix: prefix ?? words.last ?? "", splitsAtColons: bash)
    }

    @Test(
        "--root DIR, --root=DIR and bash's --root = DIR name the store; the word being completed does not",
        arguments: [
            (["layoutfs", "rm", "--root", "/s", "de"], "/s"),
            (["layoutfs", "rm", "--root=/s", "de"], "/s"),
            (["layoutfs", "rm", "--root", "=", "/s", "de"], "/s"),
            (["layoutfs", "rm", "de", "--root", "'/my store'"], nil),
            (["layoutfs", "rm", "--root", "'/my store'", "de"], "/my store"),
            (["layoutfs", "rm", "--root", "/my\\ store", "de"], "/my store"),
            (["layoutfs", "rm", "--root", "/s"], nil),
            (["layoutfs", "rm", "de"], nil),
        ])
    func root(_ words: [String], _ root: String?) {
        #expect(Self.words(words).root == root)
    }

    @Test("a word bash split at colons is joined again, and only the part after the last colon is offered")
    func colons() {
        let names = ["docker.io/demo/app:1", "docker.io/demo/app:2", "127.0.0.1:5000/team/app:1.4"]
        let atColon = Self.words(["layoutfs", "rm", "docker.io/demo/app", ":"])
        #expect(atColon.typed.word == "docker.io/demo/app:")
        #expect(atColon.completing(names) == ["1", "2"])
        #expect(Self.words(["layoutfs", "rm", "docker.io/demo/app", ":", "2"]).completing(names) == ["2"])
        #expect(Self.words(["layoutfs", "rm", "127.0.0.1", ":", "5000/team/app", ":", "1"]).completing(names) == ["1.4"])
        #expect(Self.words(["layoutfs", "rm", "127.0.0.1", ":", "50"]).completing(names) == ["5000/team/app:1.4"])
        // An earlier word is not joined to the one being completed.
        #expect(Self.words(["layoutfs", "rm", "docker.io/demo/app", ":", "1", "dock"]).completing(names) == ["docker.io/demo/app:1", "docker.io/demo/app:2"])
    }

    @Test("an escaped or quoted colon splits nothing: the whole name is offered, and matched unquoted")
    func quotedColons() {
        let names = ["docker.io/demo/app:1", "docker.io/demo/app:2"]
        #expect(Self.words(["layoutfs", "rm", "docker.io/demo/app\\:2"]).completing(names) == ["docker.io/demo/app:2"])
        #expect(Self.words(["layoutfs", "rm", "\"docker.io/demo/app:"]).completing(names) == names)
        #expect(Self.words(["layoutfs", "rm", "'docker.io/demo/app:1'"], bash: false).completing(names) == ["docker.io/demo/app:1"])
    }

    @Test("zsh and fish keep a word whole: candidates are offered whole")
    func wholeWords() {
        let request = Self.words(["layoutfs", "rm", "docker.io/demo/app:"], bash: false)
        #expect(request.completing(["docker.io/demo/app:1", "docker.io/other:1"]) == ["docker.io/demo/app:1"])
    }

    @Test("the text before the cursor is what is completed")
    func cursor() {
        let request = Self.words(["layoutfs", "rm", "docker.io/demo/app:1"], prefix: "docker.io/demo/a", bash: false)
        #expect(request.completing(["docker.io/demo/app:1", "docker.io/demo/b:1"]) == ["docker.io/demo/app:1"])
    }
}
