#!/bin/bash
# Writes an OCI image layout (tag TAG) of two gzip layers at the sizes where indexes break:
# layer 0 holds 100,000 small files in 100 directories; layer 1 a member of 4 GiB + 1 byte of
# zeros (data past the 32-bit offsets) and a small file after it.
# usage: make-large-rootfs-image.sh LAYOUT TAG
set -euo pipefail
layout=$1 tag=$2
mkdir -p "$layout/blobs/sha256"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work/many.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as tar:
    for d in range(100):
        info = tarfile.TarInfo("many/d%02d" % d); info.type = tarfile.DIRTYPE; info.mode = 0o755; tar.addfile(info)
        for f in range(1000):
            data = b"%d/%d\n" % (d, f)
            info = tarfile.TarInfo("many/d%02d/f%04d" % (d, f)); info.size = len(data); tar.addfile(info, io.BytesIO(data))
PY
# The big layer by hand: a header, 4 GiB + 1 zero bytes, padding, a small member, the end.
python3 - "$work" <<'PY'
import sys, tarfile
work = sys.argv[1]
big = tarfile.TarInfo("big/zeros"); big.size = (4 << 30) + 1; big.mode = 0o644
open(work + "/head", "wb").write(big.tobuf(format=tarfile.GNU_FORMAT))
after = tarfile.TarInfo("big/after"); after.size = 6; after.mode = 0o644
padding = b"\0" * (512 - big.size % 512)
open(work + "/tail", "wb").write(padding + after.tobuf(format=tarfile.GNU_FORMAT) + b"after\n" + b"\0" * 506 + b"\0" * 1024)
PY
# The stream is hashed (its diff_id) as it is compressed: 4 GiB is written once.
mkfifo "$work/stream"
openssl dgst -sha256 -r < "$work/stream" | cut -c1-64 > "$work/big.diff" &
hasher=$!
{ cat "$work/head"; head -c $(((4 << 30) + 1)) /dev/zero; cat "$work/tail"; } | tee "$work/stream" | igzip -1 -c > "$work/big.tar.gz"
wait "$hasher"
openssl dgst -sha256 -r "$work/many.tar" | cut -c1-64 > "$work/many.diff"
igzip -1 -c "$work/many.tar" > "$work/many.tar.gz"

put() { local d; d=$(sha256sum "$1" | cut -c1-64); cp "$1" "$layout/blobs/sha256/$d"; echo "$d"; }
many=$(put "$work/many.tar.gz") big=$(put "$work/big.tar.gz")
cat > "$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:$(cat "$work/many.diff")","sha256:$(cat "$work/big.diff")"]}}
JSON
config=$(put "$work/config.json")
cat > "$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config","size":$(stat -c %s "$work/config.json")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$many","size":$(stat -c %s "$work/many.tar.gz")},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$big","size":$(stat -c %s "$work/big.tar.gz")}]}
JSON
manifest=$(put "$work/manifest.json")
cat > "$layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest","size":$(stat -c %s "$work/manifest.json"),"annotations":{"org.opencontainers.image.ref.name":"$tag"}}]}
JSON
echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
