import ImageExport
import ImagePull
import ImageStore
import Testing

@testable import LayoutFSCommands

/// The summary lines the commands print (moved from the jobs, which return counts).
@Suite("summary lines")
struct SummaryLinesTests {
    @Test("materialize: copied, skipped, fetched, replaced, and whether index.json changed")
    func materialize() {
        var summary = Materializer.Summary()
        summary.skippedBlobs = 5
        #expect(summary.line == "copied 0 blobs (0 B), skipped 5, fetched 0; index.json unchanged")
        summary.copiedBlobs = 1
        summary.copiedBytes = 1536
        summary.replacedBlobs = 1
        summary.fetchedBlobs = 2
        summary.indexWritten = true
        #expect(summary.line == "copied 1 blob (1.5 KiB), skipped 5, fetched 2, replaced 1 wrong; index.json updated")
    }

    @Test("prune: what went and what stays, with units and plurals")
    func prune() {
        var report = Pruner.Report()
        report.blobs = 2
        report.blobBytes = 3 << 20
        report.cacheEntries = 1
        report.keptBlobs = 1
        report.images = 1
        #expect(report.line == "pruned 2 blobs (3.0 MiB), 1 cache entry (0 B), 0 lazy records; kept 1 blob of 1 image and 0 leases")
        report.cacheEntries = 2
        #expect(report.line.contains("2 cache entries"))
    }

    @Test("an archive written to standard output says so")
    func archive() {
        var summary = ArchiveExporter.Summary()
        summary.blobs = 3
        summary.bytes = 512
        #expect(summary.line("-") == "wrote 3 blobs (512 B) to standard output")
        #expect(summary.line("/tmp/a.tar") == "wrote 3 blobs (512 B) to /tmp/a.tar")
    }
}
