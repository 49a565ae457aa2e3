import ContentStore
import Testing

@testable import ImageStore

#if canImport(Glibc)
import Glibc
#endif

/// One place decides that a failed system call means a full disk (`.noSpace`): ContentStore's
/// code for an errno, which ImagesError follows.
@Suite("disk full: one decision")
struct NoSpaceTests {
    @Test(
        "ENOSPC and EDQUOT are noSpace, other errnos io, in both modules",
        arguments: [(ENOSPC, true), (EDQUOT, true), (EIO, false), (EACCES, false), (0, false)])
    func decision(errno: Int32, full: Bool) {
        #expect((ContentStoreError.Code(errno: errno) == .noSpace) == full)
        #expect((ImagesError.Code(errno: errno) == .noSpace) == full)
        #expect((ImagesError.Code(errno: errno) == .io) == !full)
    }

    @Test("a ContentStoreError built with a full disk's errno is noSpace, whatever code it was given")
    func storeErrorFollows() {
        #expect(ContentStoreError(.io, "cannot write x", errno: EDQUOT).code == .noSpace)
        #expect(ContentStoreError(.io, "cannot write x", errno: EIO).code == .io)
        #expect(ImagesError(ContentStoreError(.io, "cannot write x", errno: ENOSPC), "pulling").code == .noSpace)
    }
}
