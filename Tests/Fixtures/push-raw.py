#!/usr/bin/env python3
"""Pushes a layout's blobs and one manifest's bytes, unchanged, to a registry over plain HTTP.

usage: push-raw.py HOST:PORT REPOSITORY TAG LAYOUT MANIFEST-DIGEST MEDIA-TYPE [CHILD-DIGEST=MEDIA-TYPE ...]

skopeo re-encodes a manifest it pushes; a test that needs the registry to serve exact bytes
(a duplicate member, say, or an index as ctr writes it) pushes them with this (distribution
spec: POST then PUT uploads, PUT /v2/<name>/manifests/<reference>). An index's manifests are
given as CHILD-DIGEST=MEDIA-TYPE: they are pushed by digest, before it, as the registry wants.
"""
import os
import sys
import urllib.request


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req) as response:
        return response.status, response.headers


def main():
    host, repository, tag, layout, manifest_digest, media_type = sys.argv[1:7]
    children = [argument.split("=", 1) for argument in sys.argv[7:]]
    base = f"http://{host}/v2/{repository}"
    directory = os.path.join(layout, "blobs", "sha256")

    def read(digest):
        with open(os.path.join(directory, digest.split(":", 1)[1]), "rb") as f:
            return f.read()

    manifests = {manifest_digest} | {digest for digest, _ in children}
    for name in sorted(os.listdir(directory)):
        digest = "sha256:" + name
        if digest in manifests:
            continue
        _, headers = request("POST", base + "/blobs/uploads/")
        location = headers["Location"]
        if location.startswith("/"):
            location = f"http://{host}" + location
        separator = "&" if "?" in location else "?"
        request("PUT", f"{location}{separator}digest={digest}", read(digest), {"Content-Type": "application/octet-stream"})
    for digest, child_type in children:
        request("PUT", f"{base}/manifests/{digest}", read(digest), {"Content-Type": child_type})
    request("PUT", f"{base}/manifests/{tag}", read(manifest_digest), {"Content-Type": media_type})


if __name__ == "__main__":
    main()
