/// An error of layoutfs's own modules, carrying a message for the user: its `description` says
/// what failed and what to do, in one line. The command line prints it as
/// `layoutfs: error: <description>` on stderr and exits 1, with no backtrace; errors that do
/// not conform (ArgumentParser's, a library's) are printed by their owner.
///
/// Each module's one error type conforms (DESIGN.md "Errors"). It lives here, in the leaf the
/// other error modules import, so the command line recognises them without naming each type.
/// The FUSE binding and TarArchive import nothing of ours: their errors are wrapped in
/// `MountError` and `ImagesError` before they can reach the command line.
public protocol UserFacingError: Error, CustomStringConvertible {}
