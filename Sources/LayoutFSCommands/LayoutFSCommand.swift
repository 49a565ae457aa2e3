import ArgumentParser
import ContentStore
import ImageExport
import ImageImport
import ImagePull
import ImageStore
import LayoutFS
import LayoutFSMount
import LazyBlobs
import OCISpec
import Registry

#if canImport(Glibc)
import Glibc
#endif

/// The root command: `layoutfs <subcommand>`.
package struct LayoutFSCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "layoutfs",
        abstract: "Present images from a content store as OCI image layout directories.",
        discussion: """
            Images live in a content store (--root, $LAYOUTFS_ROOT, /var/lib/layoutfs for root). \
            `mount` shows them as a live, read-only OCI layout; `export --materialize` writes a real \
            directory, copying only the blobs it lacks.
            """,
        version: "0.1.0",
        subcommands: [
            Import.self, Pull.self, ListImages.self, Inspect.self, Mount.self, Unmount.self, Export.self, Tag.self, Remove.self, Prune.self, Check.self,
            Status.self, Version.self,
        ]
    )

    package init() {}

    /// Runs the command line, printing `layoutfs: error: ...` for user errors (no backtrace)
    /// and exiting non-zero.
    /// Call first in `main`, before anything can start a thread: a foreground mount daemon owns
    /// SIGINT/SIGTERM/SIGHUP on one thread, so they must be blocked in every thread it will have.
    package static func prepareProcess(arguments: [String] = CommandLine.arguments) {
        if arguments.dropFirst().first == "mount", arguments.contains("--foreground") {
            MountDaemon.blockTerminationSignals()
        }
    }

    @MainActor
    package static func runMain() async {
        var command: any ParsableCommand
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            // `---completion` (a shell asking to complete) passes the typed words on untouched.
            command = try parseAsRoot(arguments.first == "---completion" ? arguments : ContainerdOptions.normalized(arguments))
        } catch {
            if let message = SubcommandSuggestion.message(for: arguments, subcommands: configuration.subcommands) {
                var stderr = StandardError()
                print("layoutfs: error: \(message)", to: &stderr)
                Glibc.exit(ExitCode.validationFailure.rawValue)
            }
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ExitCode {
            exit(withError: error)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch let error as ValidationError {
            exit(withError: error)
        } catch {
            // Our own failures are the user's to read: one line, no backtrace. Anything else
            // (help requested through `help SUBCOMMAND`, a parser error) ArgumentParser prints.
            guard Self.isOurs(error) else { exit(withError: error) }
            fail("\(error)")
        }
    }

    /// True for the errors of layoutfs's own modules (each a `UserFacingError`, with a
    /// message for the user).
    static func isOurs(_ error: any Error) -> Bool {
        error is any UserFacingError
    }

    static func fail(_ message: String) -> Never {
        var stderr = StandardError()
        print("layoutfs: error: \(message)", to: &stderr)
        Glibc.exit(1)
    }
}

/// A user-facing failure from a command, printed as `layoutfs: error: <message>`.
struct CommandFailure: Error, UserFacingError {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Writes to standard error.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { return }
            done += n
        }
    }
}
