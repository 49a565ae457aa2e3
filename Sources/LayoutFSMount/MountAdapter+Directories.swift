import FUSE
import LayoutFS

extension MountAdapter {
    /// Takes the directory's listing (with `.` and `..`) for this open directory.
    package func openDirectory(_ request: consuming Request, inode: UInt64) {
        do {
            let handle = directories.insert(try listing(of: inode))
            request.reply(openDirectory: handle)
        } catch {
            fail(request, error, "opendir \(inode)")
        }
    }

    package func readDirectory(
        _ request: consuming Request, inode: UInt64, fileHandle: UInt64, offset: Int64, maxSize: Int
    ) {
        do {
            let listing = try currentListing(fileHandle, inode: inode, offset: offset)
            request.reply(directoryEntries: listing.entries, offset: offset, maxSize: maxSize)
        } catch {
            fail(request, error, "readdir \(inode)")
        }
    }

    package func readDirectoryPlus(
        _ request: consuming Request, inode: UInt64, fileHandle: UInt64, offset: Int64, maxSize: Int
    ) {
        do {
            let listing = try currentListing(fileHandle, inode: inode, offset: offset)
            var entries: [ReaddirPlusEntry] = []
            entries.reserveCapacity(listing.entries.count)
            // Only entries from `offset` on are sent; attributes of the others are not needed.
            let start = Int(max(0, min(offset, Int64(listing.entries.count))))
            for (index, item) in listing.entries.enumerated() {
                let attributes = index < start ? nil : try? tree.attributes(of: item.inode)
                entries.append(
                    ReaddirPlusEntry(name: item.name, inode: item.inode, kind: item.kind, entry: attributes.map(entry)))
            }
            request.reply(directoryEntriesPlus: entries, offset: offset, maxSize: maxSize)
        } catch {
            fail(request, error, "readdirplus \(inode)")
        }
    }

    package func releaseDirectory(_ request: consuming Request, inode: UInt64, fileHandle: UInt64) {
        directories.remove(fileHandle)
        request.replySuccess()
    }

    /// The listing of `handle`, taken again when a used listing restarts at offset 0
    /// (`rewinddir`), or when the handle is unknown.
    private func currentListing(_ handle: UInt64, inode: UInt64, offset: Int64) throws(LayoutFSError)
        -> DirectoryHandles.Listing
    {
        if let listing = directories.use(handle), offset != 0 || !listing.used {
            return listing
        }
        let fresh = try listing(of: inode)
        directories.replace(handle, with: fresh)
        return fresh
    }

    private func listing(of inode: UInt64) throws(LayoutFSError) -> DirectoryHandles.Listing {
        let entries = try tree.entries(of: inode)
        var listing = [
            ReaddirEntry(name: ".", inode: inode, kind: .directory),
            ReaddirEntry(name: "..", inode: parents.parent(of: inode), kind: .directory),
        ]
        listing.reserveCapacity(entries.count + 2)
        for entry in entries {
            listing.append(
                ReaddirEntry(
                    name: entry.name, inode: entry.inode, kind: FileKind(entry.kind)))
        }
        return DirectoryHandles.Listing(directory: inode, entries: listing)
    }
}
