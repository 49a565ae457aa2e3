#ifndef LAYOUTFS_CARCHIVE_SHIM_H
#define LAYOUTFS_CARCHIVE_SHIM_H
// libarchive 3.6 (Debian libarchive-dev). Its file-type constants are cast macros that Swift
// does not import: they are given here as functions.
#include <archive.h>
#include <archive_entry.h>

/// The entry's file type: 1 regular, 2 directory, 3 symbolic link, 0 anything else.
static inline int carchive_entry_kind(struct archive_entry *entry) {
    switch (archive_entry_filetype(entry)) {
    case AE_IFREG: return 1;
    case AE_IFDIR: return 2;
    case AE_IFLNK: return 3;
    default: return 0;
    }
}

/// Marks the entry a regular file (`regular` != 0) or a directory.
static inline void carchive_entry_set_kind(struct archive_entry *entry, int regular) {
    archive_entry_set_filetype(entry, regular ? AE_IFREG : AE_IFDIR);
}
#endif
