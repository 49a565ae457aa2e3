import Foundation
import Testing

/// Runs the bash completion script `layoutfs --generate-completion-script bash` writes, in a
/// real `bash --norc --noprofile`, as readline would on TAB: `COMP_WORDS` split at blanks and at
/// `:` and `=` (bash's `COMP_WORDBREAKS`), `COMP_CWORD`, `COMP_LINE` and `COMP_POINT` with the
/// cursor at the end, then the `_layoutfs` function, whose `COMPREPLY` is returned. The script
/// calls back into the binary by the name `layoutfs`: a symlink to the binary under test is
/// first on `PATH`.
struct BashCompletion {
    /// The directory holding `bin/layoutfs` and `layoutfs.bash`.
    let directory: String

    /// Writes the symlink and the script under `directory`.
    /// - Throws: when the binary cannot generate the script.
    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory + "/bin/layoutfs", withDestinationPath: Harness.binary)
        let script = try Harness.runOK([Harness.binary, "--generate-completion-script", "bash"]).stdout
        #expect(script.contains("complete -o filenames -F _layoutfs layoutfs"), "\(script.prefix(300))")
        try script.write(toFile: directory + "/layoutfs.bash", atomically: true, encoding: .utf8)
    }

    /// The words readline makes of `line`: split at blanks, with `:` and `=` words of their own
    /// (a backslash-escaped one splits nothing, and stays in its word as typed); a line ending
    /// in a blank gets an empty last word (the one being completed).
    static func words(_ line: String) -> [String] {
        var words: [String] = []
        var word = ""
        var escaped = false
        for character in line {
            if escaped || character == "\\" {
                word.append(character)
                escaped = !escaped && character == "\\"
            } else if character == " " {
                if !word.isEmpty { words.append(word) }
                word = ""
            } else if character == ":" || character == "=" {
                if !word.isEmpty { words.append(word) }
                words.append(String(character))
                word = ""
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty || line.hasSuffix(" ") || words.isEmpty { words.append(word) }
        return words
    }

    /// `COMPREPLY` for `line` (cursor at its end), with the working directory `cwd` and
    /// `environment` added to the test's own (`LAYOUTFS_ROOT` removed unless given).
    func complete(_ line: String, cwd: String, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let words = Self.words(line)
        // After a `:` or `=` readline completes an empty word, the one before it is `prev`.
        let last = words[words.count - 1]
        let current = last == ":" || last == "=" ? "" : last
        let previous = words.count >= 2 ? words[words.count - 2] : ""
        let program = """
            cd "$1" || exit 9
            source "$2" || exit 9
            COMP_LINE=$3
            COMP_POINT=${#3}
            cur=$4
            prev=$5
            shift 5
            COMP_WORDS=("$@")
            COMP_CWORD=$(($# - 1))
            _layoutfs layoutfs "$cur" "$prev"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        var env = ["PATH": directory + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "LAYOUTFS_ROOT": ""]
        for (key, value) in environment { env[key] = value }
        let result = try Harness.run(
            ["bash", "--norc", "--noprofile", "-c", program, "bash", cwd, directory + "/layoutfs.bash", line, current, previous] + words, environment: env)
        #expect(result.status == 0, "completing \(line): exit \(result.status), stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.isEmpty, "completing \(line): stderr: \(result.stderr)", sourceLocation: sourceLocation)
        return result.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}
