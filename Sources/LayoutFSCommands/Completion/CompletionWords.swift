import Foundation

/// The command line a shell asks to complete, as swift-argument-parser's completion scripts
/// hand it to a `.custom` completion: every shell word verbatim (quotes and escapes kept), the
/// index of the word being completed, and that word's text before the cursor.
struct CompletionWords {
    /// The shell words, the command name first (`["layoutfs", "mount", "de"]`).
    var words: [String]
    /// The index into ``words`` of the word being completed.
    var index: Int
    /// The text of that word before the cursor.
    var prefix: String
    /// True when the words were split at `:` and `=` as bash does (`COMP_WORDBREAKS`): then
    /// `demo/app:1` arrives as three words, `demo/app`, `:` and `1`.
    var splitsAtColons: Bool

    /// The store directory a `--root DIR`, `--root=DIR` (or bash's `--root = DIR`) already on the
    /// line names (unquoted, a leading `~` made `$HOME`), or `nil` when there is none.
    var root: String? {
        for (i, word) in words.enumerated() where i != index {
            if word.hasPrefix("--root=") { return Self.unquoted(String(word.dropFirst("--root=".count))) }
            guard word == "--root", i + 1 < words.count else { continue }
            let value = words[i + 1] == "=" && i + 2 < words.count ? i + 2 : i + 1
            guard value != index else { continue }
            return Self.unquoted(words[value])
        }
        return nil
    }

    /// The word being completed up to the cursor as the user meant it, unquoted
    /// (`demo/app:1`, joined again where bash split it at colons; `demo/app\:1` and
    /// `"demo/app:1` are that too), and the part of it the shell replaces with a completion:
    /// for bash the shell word after the last colon it split at (an escaped or quoted colon
    /// splits nothing), unquoted; all of it otherwise.
    var typed: (word: String, replaced: String) {
        guard splitsAtColons else { return (Self.unquoted(prefix), Self.unquoted(prefix)) }
        // At a colon bash's word is ":" whatever the cursor index says.
        let current = index < words.count && words[index] == ":" ? ":" : prefix
        var word = current
        var j = index
        // "demo/app" ":" "1": walk back over colons and the words they join.
        while j > 2, j - 1 < words.count, words[j - 1] == ":" || (j == index ? current : words[j]) == ":" {
            word = words[j - 1] + word
            j -= 1
        }
        return (Self.unquoted(word), current == ":" ? "" : Self.unquoted(current))
    }

    /// `candidates` that start with the typed word, cut down to what the shell replaces (bash
    /// keeps the text before a colon, so it must not be offered again).
    func completing(_ candidates: [String]) -> [String] {
        let (word, replaced) = typed
        let kept = word.dropLast(replaced.count).count
        return candidates.filter { $0.hasPrefix(word) }.map { String($0.dropFirst(kept)) }
    }

    /// A shell word without its quotes and backslash escapes, `~` and `~/` made `$HOME`.
    static func unquoted(_ word: String) -> String {
        var result = ""
        var quote: Character?
        var escaped = false
        for character in word {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" && quote != "'" {
                escaped = true
            } else if let open = quote {
                if character == open { quote = nil } else { result.append(character) }
            } else if character == "'" || character == "\"" {
                quote = character
            } else {
                result.append(character)
            }
        }
        if result == "~" || result.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
            result = home + result.dropFirst()
        }
        return result
    }
}
