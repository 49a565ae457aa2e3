import FUSE
import LayoutFS

extension MountAdapter {
    /// `statfs`: the tree's total size in 4 KiB blocks and its node count, nothing free (a
    /// read-only file system), 255-byte names. From ``ServedTree/usage`` when the tree knows
    /// it, else by a walk (one pass over the blobs).
    package func statistics(_ request: consuming Request, inode: UInt64) {
        var totalBytes: Int64 = 0
        var nodes: UInt64 = 1
        var directories = [LayoutTree.rootInode]
        if let usage = tree.usage {
            (nodes, totalBytes) = usage
            directories = []
        }
        while let directory = directories.popLast() {
            guard let entries = try? tree.entries(of: directory) else { continue }
            for entry in entries {
                nodes += 1
                if entry.kind == .directory {
                    directories.append(entry.inode)
                } else if let attributes = try? tree.attributes(of: entry.inode) {
                    totalBytes += attributes.size
                }
            }
        }
        let blockSize: Int64 = 4096
        request.reply(
            statistics: FileSystemStatistics(
                blockSize: UInt(blockSize), fragmentSize: UInt(blockSize),
                blocks: UInt64((totalBytes + blockSize - 1) / blockSize), freeBlocks: 0, availableBlocks: 0,
                files: nodes, freeFiles: 0, maximumNameLength: 255))
    }
}
