#!/usr/bin/env python3
"""Pushes a layout's blobs and one manifest's bytes, unchanged, to a registry over plain HTTP.

usage: push-raw.py HOST:PORT REPOSITORY TAG LAYOUT MANIFEST-DIGEST MEDIA-TYPE

skopeo re-encodes a manifest it pushes; a test that needs the registry to serve exact bytes
(a duplicate member, say) pushes them with this (distribution spec: POST then PUT uploads,
PUT /v2/<name>/manifests/<reference>).
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
    base = f"http://{host}/v2/{repository}"
    directory = os.path.join(layout, "blobs", "sha256")
    for name in sorted(os.listdir(directory)):
        digest = "sha256:" + name
        if digest == manifest_digest:
            continue
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        _, headers = request("POST", base + "/blobs/uploads/")
        location = headers["Location"]
        if location.startswith("/"):
            location = f"http://{host}" + location
        separator = "&" if "?" in location else "?"
        request("PUT", f"{location}{separator}digest={digest}", data, {"Content-Type": "application/octet-stream"})
    with open(os.path.join(directory, manifest_digest.split(":", 1)[1]), "rb") as f:
        manifest = f.read()
    request("PUT", f"{base}/manifests/{tag}", manifest, {"Content-Type": media_type})


if __name__ == "__main__":
    main()
