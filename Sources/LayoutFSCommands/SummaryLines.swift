import ImageExport
import ImagePull
import ImageStore

// The summary lines the commands print for what a job did (the jobs return counts; the words
// and the byte formatting are the command line's).

extension Pruner.Report {
    /// `pruned N blobs (X), M cache entries (Y), K lazy records[, J layer indexes (Z)]; kept B
    /// blobs of I images and L leases` (layer indexes named only when some were pruned).
    package var line: String {
        let indexes =
            layerIndexes == 0
            ? ""
            : ", \(ByteFormat.count(layerIndexes, "layer index").replacingOccurrences(of: "indexs", with: "indexes")) (\(ByteFormat.string(layerIndexBytes)))"
        return
            "pruned \(ByteFormat.count(blobs, "blob")) (\(ByteFormat.string(blobBytes))), \(ByteFormat.count(cacheEntries, "cache entry").replacingOccurrences(of: "entrys", with: "entries")) (\(ByteFormat.string(cacheBytes))), \(ByteFormat.count(lazyRecords, "lazy record"))\(indexes); kept \(ByteFormat.count(keptBlobs, "blob")) of \(ByteFormat.count(images, "image")) and \(ByteFormat.count(leases, "lease"))"
    }
}

extension StoreChecker.Report {
    /// `checked N blobs (X) and M cache entries: all sound` / `..: K corrupt, R repaired, L remain`.
    package var line: String {
        var text =
            "checked \(ByteFormat.count(checkedBlobs, "blob")) (\(ByteFormat.string(checkedBytes))) and \(checkedCacheEntries) cache \(checkedCacheEntries == 1 ? "entry" : "entries")"
        if uncheckedCacheEntries > 0 { text += " (\(uncheckedCacheEntries) partial or in use, not checked)" }
        guard !findings.isEmpty || !missing.isEmpty else { return text + ": all sound" }
        var parts: [String] = []
        if !findings.isEmpty {
            parts.append("\(findings.count) corrupt")
            let fixed = findings.count - remaining
            if fixed > 0 { parts.append("\(fixed) repaired") }
            if remaining > 0 { parts.append("\(remaining) \(remaining == 1 ? "remains" : "remain")") }
        }
        if !missing.isEmpty { parts.append("\(ByteFormat.count(missing.count, "blob")) missing") }
        return text + ": " + parts.joined(separator: ", ")
    }
}

extension Materializer.Summary {
    /// `copied N blobs (X MiB), skipped M, fetched K`.
    package var line: String {
        var text = "copied \(ByteFormat.count(copiedBlobs, "blob")) (\(ByteFormat.string(copiedBytes))), skipped \(skippedBlobs), fetched \(fetchedBlobs)"
        if replacedBlobs > 0 { text += ", replaced \(replacedBlobs) wrong" }
        text += indexWritten ? "; index.json updated" : "; index.json unchanged"
        return text
    }
}

extension ArchiveExporter.Summary {
    /// "wrote N blobs (S) to PATH".
    package func line(_ path: String) -> String {
        "wrote \(ByteFormat.count(blobs, "blob")) (\(ByteFormat.string(bytes))) to \(path == "-" ? "standard output" : path)"
    }
}
