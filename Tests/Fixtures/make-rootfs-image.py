#!/usr/bin/env python3
"""Writes an OCI image layout of three layers that exercise a rootfs view: every member type,
setuid/setgid/sticky modes, owners, nanosecond mtimes, xattrs (user.* and security.capability),
PAX and GNU long names, hard links within and across layers, whiteouts, an opaque directory, a
file replaced by a directory and back. Layer 0 is gzip (PAX), layer 1 plain tar (GNU), layer 2
gzip in two concatenated members (PAX).

usage: make-rootfs-image.py LAYOUT TAG [--bad-diff-id N] [--big MIB] [--break KIND]
  --bad-diff-id N  write a wrong rootfs.diff_ids entry for layer N
  --big MIB        add a file of MIB MiB of random bytes to layer 0 (several access points)
  --zstd N         compress layer N with zstd (the zstd command) instead
  --break KIND     a layer no rootfs can come from: truncated (layer 0's gzip cut short),
                   notar (layer 1 random bytes), escape (a member of layer 1 named ../escape),
                   zstd (layer 1 claims zstd but its frame is cut off),
                   hugesize (layer 1 has a member whose GNU base-256 size is 2^63 - 1),
                   nulpath (layer 1 has a member whose PAX path holds a NUL)
"""
import gzip, hashlib, io, json, os, random, subprocess, sys, tarfile

args = sys.argv[1:]
layout, tag = args[0], args[1]
bad = int(args[args.index("--bad-diff-id") + 1]) if "--bad-diff-id" in args else None
big = int(args[args.index("--big") + 1]) if "--big" in args else 3
broken = args[args.index("--break") + 1] if "--break" in args else None
zstd_layer = int(args[args.index("--zstd") + 1]) if "--zstd" in args else None
rng = random.Random(7)
T = 1_700_000_000


def member(tar, name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, mtime=T, link="", xattrs=None, dev=(0, 0)):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, mtime
    info.linkname = link
    info.devmajor, info.devminor = dev
    if xattrs:
        info.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def layer0(tar):
    d = tarfile.DIRTYPE
    for name, mode in [("etc", 0o755), ("usr", 0o755), ("usr/bin", 0o755), ("usr/lib", 0o755), ("var", 0o755), ("var/tmp", 0o1777),
                       ("opt", 0o755), ("opt/keep", 0o750), ("data", 0o755), ("emptydir", 0o700), ("home", 0o755), ("dev", 0o755), ("run", 0o755),
                       ("srv", 0o2775)]:
        member(tar, name, d, mode=mode)
    member(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n", xattrs={"user.comment": "the users"})
    member(tar, "etc/nanos", data=b"when\n", mtime=T + 0.123456789)
    capability = bytes([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).decode("latin-1")
    member(tar, "usr/bin/tool", data=b"#!/bin/sh\necho tool\n" * 50, mode=0o4755, xattrs={"security.capability": capability})
    member(tar, "usr/bin/tool2", tarfile.LNKTYPE, link="usr/bin/tool", mode=0o4755)
    member(tar, "usr/bin/sgid", data=b"x" * 10, mode=0o2711, gid=50)
    member(tar, "usr/lib/big.bin", data=bytes(rng.getrandbits(8) for _ in range(big << 20)), mode=0o644)
    member(tar, "usr/lib/zeros.bin", data=bytes(5 << 20), mode=0o644)
    member(tar, "home/user", d, mode=0o700, uid=1000, gid=1000)
    member(tar, "home/user/file", data=b"mine\n", mode=0o600, uid=1000, gid=1000, mtime=T + 0.123456789)
    member(tar, "bin", tarfile.SYMTYPE, link="usr/bin", mode=0o777)
    member(tar, "usr/sbin", tarfile.DIRTYPE, mode=0o755)
    member(tar, "sbin", tarfile.SYMTYPE, link="/usr/sbin", mode=0o777)
    member(tar, "real", tarfile.DIRTYPE, mode=0o755)
    member(tar, "real-link", tarfile.SYMTYPE, link="real", mode=0o777)
    member(tar, "real-link/through", data=b"through a symlink in its own layer\n")
    member(tar, "etc/alt", tarfile.SYMTYPE, link="/etc/passwd", mode=0o777)
    member(tar, "run/fifo", tarfile.FIFOTYPE, mode=0o600)
    member(tar, "dev/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3))
    member(tar, "dev/sda", tarfile.BLKTYPE, mode=0o660, gid=6, dev=(8, 0))
    member(tar, "opt/keep/a", data=b"a\n")
    member(tar, "opt/keep/b", data=b"b\n")
    member(tar, "data/x", data=b"x\n")
    long = "usr/share/" + "/".join(["a-rather-long-directory-name-%02d" % i for i in range(5)]) + "/and-a-file-with-a-long-name.txt"
    member(tar, long, data=b"long\n")
    for i in range(300):
        member(tar, "usr/share/many/file%03d" % i, data=(b"%d\n" % i) * (i + 1), mode=0o644)


def layer1(tar):
    if broken == "escape":
        member(tar, "../escape", data=b"out\n")
    member(tar, "etc/.wh.alt")
    member(tar, "opt/keep/.wh.a")
    member(tar, "data", data=b"data is a file now\n")
    member(tar, "home/user/file", tarfile.DIRTYPE, mode=0o755, uid=1000, gid=1000)
    member(tar, "home/user/file/inner", data=b"inside\n", uid=1000, gid=1000)
    member(tar, "opt/.wh..wh..opq")
    member(tar, "opt/new", data=b"new\n")
    member(tar, "usr/bin/tool4", tarfile.LNKTYPE, link="usr/bin/tool")
    member(tar, "usr/share/" + "n" * 120, data=b"a GNU long name\n")


def layer2(tar):
    member(tar, "sbin/newtool", data=b"under usrmerge's sbin -> /usr/sbin\n", mode=0o755)
    member(tar, "bin/.wh.tool3")
    member(tar, "data", tarfile.DIRTYPE, mode=0o711)
    member(tar, "data/z", data=b"z\n")
    member(tar, "usr/bin/tool3", tarfile.LNKTYPE, link="usr/bin/tool")
    member(tar, "usr/bin/tool5", tarfile.LNKTYPE, link="usr/bin/tool")
    member(tar, "usr/bin/.wh.tool2")
    member(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n", mtime=T + 60)
    member(tar, "emptydir/.wh..wh..opq")


def tar_bytes(build, fmt):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        build(tar)
    return buffer.getvalue()


os.makedirs(layout + "/blobs/sha256", exist_ok=True)


def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(layout + "/blobs/sha256/" + digest, "wb") as f:
        f.write(data)
    return "sha256:" + digest


layers, diff_ids = [], []
for number, (build, fmt, compression) in enumerate(
        [(layer0, tarfile.PAX_FORMAT, "gzip"), (layer1, tarfile.GNU_FORMAT, None), (layer2, tarfile.PAX_FORMAT, "gzip2")]):
    raw = tar_bytes(build, fmt)
    if broken in ("hugesize", "nulpath") and number == 1:
        hostile = tarfile.TarInfo("huge" if broken == "hugesize" else "placeholder")
        if broken == "hugesize":
            hostile.size = 2 ** 63 - 1
        else:
            hostile.pax_headers = {"path": "etc/passwd\0hidden"}
        raw = hostile.tobuf(tarfile.GNU_FORMAT if broken == "hugesize" else tarfile.PAX_FORMAT) + bytes(1024)
    diff = "sha256:" + hashlib.sha256(raw).hexdigest()
    diff_ids.append(diff if bad != number else "sha256:" + hashlib.sha256(b"not this").hexdigest())
    if compression == "gzip":
        data, media = gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    elif compression == "gzip2":
        half = len(raw) // 2
        data, media = gzip.compress(raw[:half], mtime=0) + gzip.compress(raw[half:], mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    else:
        data, media = raw, "application/vnd.oci.image.layer.v1.tar"
    if broken == "truncated" and number == 0:
        data = data[:-100]
    if broken == "notar" and number == 1:
        data = bytes(rng.getrandbits(8) for _ in range(4096))
    if zstd_layer == number:
        data = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
        media = "application/vnd.oci.image.layer.v1.tar+zstd"
    if broken == "zstd" and number == 1:
        whole = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
        data, media = whole[:len(whole) // 2], "application/vnd.oci.image.layer.v1.tar+zstd"
    layers.append({"mediaType": media, "digest": blob(data), "size": len(data)})

config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(config), "size": len(config)},
                       "layers": layers}).encode()
index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(manifest),
                                            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": tag}}]}
with open(layout + "/index.json", "w") as f:
    json.dump(index, f)
with open(layout + "/oci-layout", "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
