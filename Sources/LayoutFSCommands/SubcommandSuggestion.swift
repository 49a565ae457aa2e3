import ArgumentParser
import ImageStore

/// "Did you mean" for a mistyped subcommand (`layoutfs mout` → `mount`), as git and docker
/// answer one: ArgumentParser itself only says the word is an unexpected argument.
enum SubcommandSuggestion {
    /// The message for `arguments` (without the program name) when its first word looks like a
    /// mistyped subcommand, naming the nearest one when it is near enough; nil when the first word
    /// is an option, a subcommand, or `help`.
    static func message(for arguments: [String], subcommands: [any ParsableCommand.Type]) -> String? {
        guard let word = arguments.first else { return nil }
        let names = subcommands.compactMap { $0.configuration.commandName } + subcommands.flatMap { $0.configuration.aliases }
        if word.hasPrefix("-") {
            // podman's and docker's global options come first; ours come after the subcommand.
            let option = String(word.split(separator: "=", maxSplits: 1).first ?? "")
            guard Self.subcommandOptions.contains(option), let subcommand = arguments.dropFirst().first(where: { names.contains($0) }) else { return nil }
            return "\(option) goes after the subcommand: layoutfs \(subcommand) \(option) ..."
        }
        guard word != "help", !names.contains(word) else { return nil }
        let guess = Self.dockerWords[word] ?? NearestNames.suggestion(for: word, among: names)
        return "'\(word)' is not a layoutfs command" + (guess.map { "; did you mean '\($0)'?" } ?? "") + " (see layoutfs --help)"
    }

    /// docker's and podman's words for what a layoutfs command does: a typo of one would
    /// otherwise be taken for the nearest name (`umount` for mount, `ls` for rm).
    static let dockerWords = [
        "umount": "unmount", "ls": "images", "list": "images", "ps": "status", "info": "status", "save": "export", "load": "import",
        "rmi": "rm", "remove": "rm", "mnt": "mount",
    ]

    /// Options every subcommand takes, which users of podman put before it.
    static let subcommandOptions: Set<String> = ["--root", "--containerd", "--namespace", "--log-level"]
}
