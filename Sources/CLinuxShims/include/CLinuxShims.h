#ifndef LAYOUTFS_CLINUXSHIMS_H
#define LAYOUTFS_CLINUXSHIMS_H
#include <sys/types.h>
#include <stdint.h>
#include <pthread.h>

/// pthread_rwlock_init with PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP (a GNU extension): a
/// waiting writer is not starved by a steady stream of readers. Returns 0 or an errno value.
int lfs_rwlock_init_writer_first(pthread_rwlock_t *lock);

/// renameat2(2) with RENAME_NOREPLACE. Returns 0 or -1 with errno set.
int lfs_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writeback of the range, without
/// waiting. Returns 0 or -1 with errno.
int lfs_start_writeback(int fd, int64_t offset, int64_t length);

/// copy_file_range(2). Returns bytes copied or -1 with errno.
ssize_t lfs_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len);
/// ioctl(FICLONE). Returns 0 or -1 with errno.
int lfs_ficlone(int dest_fd, int src_fd);
/// openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS (raw syscall: glibc 2.36 has no wrapper).
int lfs_openat_beneath(int dirfd, const char *path, int flags, unsigned int mode);
/// openat(dirfd, ".", O_TMPFILE|O_WRONLY, mode).
int lfs_open_tmpfile(int dirfd, unsigned int mode);
/// linkat(AT_FDCWD, "/proc/self/fd/N", dirfd, name, AT_SYMLINK_FOLLOW): give an O_TMPFILE a name.
int lfs_link_tmpfile(int fd, int dirfd, const char *name);
/// The value of O_DIRECTORY, O_NOFOLLOW, O_PATH (hidden or macro-only in Glibc's overlay).
int lfs_o_path(void);
/// statfs(2) f_type of the filesystem holding `path`; -1 with errno on failure.
long lfs_filesystem_type(const char *path);
/// posix_spawn(path, argv, envp) in a new session (setsid), with stdin from /dev/null and
/// stdout/stderr to log_fd, default signal mask and dispositions, and no descriptor above stderr
/// but keep_a and keep_b (every other one of the caller's is made close-on-exec first, so a pipe
/// the caller inherited does not stay open in the daemon). Returns 0 or an errno value.
int lfs_spawn_daemon(const char *path, char *const argv[], char *const envp[], int log_fd, int keep_a, int keep_b, pid_t *pid);
/// pipe2 with O_CLOEXEC on the read end only (the write end is inherited by a spawned child).
int lfs_ready_pipe(int fds[2]);
/// memfd_create(name, 0): an anonymous file a spawned child inherits (no close-on-exec);
/// -1 with errno.
int lfs_memfd(const char *name);
/// pidfd_open(2): a descriptor that becomes readable when process `pid` exits; -1 with errno.
int lfs_pidfd_open(pid_t pid);
/// posix_spawnp(file, argv, envp) with stdin, stdout and stderr from the given descriptors, an
/// empty signal mask and default signal dispositions.
/// Returns 0 or an errno value.
int lfs_spawn(const char *file, char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd, pid_t *pid);
/// getxattr(2) (<sys/xattr.h> is not in Swift's Glibc module). Returns the value's length or -1.
ssize_t lfs_getxattr(const char *path, const char *name, void *value, size_t size);
#endif
