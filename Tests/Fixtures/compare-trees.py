#!/usr/bin/env python3
"""Compares two directory trees as a root filesystem: every path's type, mode (with setuid,
setgid, sticky), owner, group, size, sha256, symlink target, device numbers, mtime (seconds;
nanoseconds too with --nanoseconds), extended attributes, and hard-link groups. Prints one line
per difference; exits 1 when there is any.

usage: compare-trees.py EXPECTED ACTUAL [--skip-root-times] [--ignore-xattr NAME]...
"""
import hashlib, os, stat, sys

args = sys.argv[1:]
expected_root, actual_root = args[0], args[1]
ignored = {args[i + 1] for i, a in enumerate(args) if a == "--ignore-xattr"}
nanoseconds = "--nanoseconds" in args


def walk(root):
    result = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            result[os.path.relpath(path, root)] = path
    return result


def describe(path):
    st = os.lstat(path)
    kind = stat.S_IFMT(st.st_mode)
    info = {"type": kind, "mode": oct(stat.S_IMODE(st.st_mode)), "uid": st.st_uid, "gid": st.st_gid}
    if stat.S_ISREG(kind):
        info["size"] = st.st_size
        with open(path, "rb") as f:
            info["sha256"] = hashlib.sha256(f.read()).hexdigest()
        info["nlink"] = st.st_nlink
    if not stat.S_ISDIR(kind):
        info["mtime"] = st.st_mtime_ns if nanoseconds else st.st_mtime_ns // 1_000_000_000
    if stat.S_ISLNK(kind):
        info["target"] = os.readlink(path)
    if stat.S_ISCHR(kind) or stat.S_ISBLK(kind):
        info["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
    if not stat.S_ISLNK(kind):
        names = sorted(n for n in os.listxattr(path, follow_symlinks=False) if n not in ignored)
        info["xattrs"] = {n: os.getxattr(path, n, follow_symlinks=False) for n in names}
    return info, (st.st_dev, st.st_ino)


expected, actual = walk(expected_root), walk(actual_root)
differences = []
for path in sorted(set(expected) | set(actual)):
    if path not in actual:
        differences.append("missing: " + path)
    elif path not in expected:
        differences.append("extra: " + path)
expected_links, actual_links = {}, {}
for path in sorted(set(expected) & set(actual)):
    e, e_inode = describe(expected[path])
    a, a_inode = describe(actual[path])
    for key in sorted(set(e) | set(a)):
        if e.get(key) != a.get(key):
            differences.append("%s: %s expected %r, got %r" % (path, key, e.get(key), a.get(key)))
    if "sha256" in e:
        expected_links.setdefault(e_inode, []).append(path)
        actual_links.setdefault(a_inode, []).append(path)
groups = lambda links: sorted(sorted(g) for g in links.values() if len(g) > 1)
if groups(expected_links) != groups(actual_links):
    differences.append("hard-link groups: expected %r, got %r" % (groups(expected_links), groups(actual_links)))
for line in differences:
    print(line)
print("compared %d paths, %d differences" % (len(set(expected) & set(actual)), len(differences)))
sys.exit(1 if differences else 0)
