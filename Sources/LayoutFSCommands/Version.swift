import ArgumentParser

/// `layoutfs version`: the same line as `layoutfs --version`, for docker's and podman's habit.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version (as --version does).")

    func run() {
        print(LayoutFSCommand.configuration.version)
    }
}
