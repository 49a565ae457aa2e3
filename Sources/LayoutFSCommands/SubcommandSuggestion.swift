import ArgumentParser
import ImageStore

/// "Did you mean" for a mistyped subcommand (`layoutfs mout` → `mount`), as git and docker
/// answer one: ArgumentParser itself only says the word is an unexpected argument.
enum SubcommandSuggestion {
    /// The message for `arguments` (without the program name) when its first word looks like a
    /// mistyped subcommand, naming the nearest one when it is near enough; nil when the first word
    /// is an option, a subcommand, or `help`.
    static func message(for arguments: [String], subcommands: [any ParsableCommand.Type]) -> String? {
        guard let word = arguments.first, !word.hasPrefix("-"), word != "help" else { return nil }
        let names = subcommands.compactMap { $0.configuration.commandName } + subcommands.flatMap { $0.configuration.aliases }
        guard !names.contains(word) else { return nil }
        let guess = NearestNames.suggestion(for: word, among: names)
        return "'\(word)' is not a layoutfs command" + (guess.map { "; did you mean '\($0)'?" } ?? "") + " (see layoutfs --help)"
    }
}
