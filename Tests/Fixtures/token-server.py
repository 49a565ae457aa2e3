#!/usr/bin/python3
"""A registry token server (distribution "token authentication") for layoutfs's tests.

Usage: token-server.py STATE_DIR USER PASSWORD EXPIRES_IN [IDENTITY_TOKEN]
At start it makes a P-256 key and a self-signed certificate (STATE_DIR/cert.pem, for the
registry's rootcertbundle), listens on 127.0.0.1 (port written to STATE_DIR/port), and answers
GET /token?service=S&scope=repository:NAME:pull[&scope=...] with an ES256 JWT whose header
carries the certificate as x5c. Repositories under "public/" are granted to anyone; others
need Basic USER:PASSWORD (else 401); with it every requested action is granted. Every token request is appended to STATE_DIR/requests.log.

It also answers the OAuth2 refresh-token exchange (distribution spec oauth.md) that docker uses
for an identity token: POST /token, form-encoded grant_type=refresh_token&refresh_token=T&
service=S&scope=S1 S2&client_id=C. T must be IDENTITY_TOKEN (else 400 invalid_grant) and
client_id must be given (else 400 invalid_request); the answer carries only access_token (no
token), as oauth.md's does, and grants USER's access.
"""
import base64
import datetime
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

STATE, USER, PASSWORD, EXPIRES = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
IDENTITY_TOKEN = sys.argv[5] if len(sys.argv) > 5 else None
ISSUER = "layoutfs-test-issuer"
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "layoutfs test token signer")])
now = datetime.datetime.utcnow()
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
with open(os.path.join(STATE, "cert.pem"), "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
lock = threading.Lock()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims):
    header = {"alg": "ES256", "typ": "JWT", "x5c": [x5c]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path != "/token":
            return self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": "only /token is served here"}]})
        query = urllib.parse.parse_qs(url.query)
        authorized = False
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                authorized = user == USER and password == PASSWORD
            except ValueError:
                authorized = False
            if not authorized:
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
        scopes = query.get("scope", [])
        self.record({"scopes": scopes, "authorized": authorized})
        token, issued = self.token(scopes, authorized, query.get("service", [""])[0])
        self.answer(200, {"token": token, "access_token": token, "expires_in": EXPIRES,
                          "issued_at": datetime.datetime.utcfromtimestamp(issued).strftime("%Y-%m-%dT%H:%M:%SZ")})

    def do_POST(self):
        if urllib.parse.urlparse(self.path).path != "/token":
            return self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": "only /token is served here"}]})
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        field = lambda name: form.get(name, [""])[0]
        scopes = [s for scope in form.get("scope", []) for s in scope.split(" ") if s]
        entry = {"scopes": scopes, "authorized": False, "grant": field("grant_type"), "client_id": field("client_id"),
                 "content_type": self.headers.get("Content-Type", "")}
        if field("grant_type") != "refresh_token":
            self.record(entry)
            return self.answer(400, {"error": "unsupported_grant_type"})
        if IDENTITY_TOKEN is None or field("refresh_token") != IDENTITY_TOKEN:
            self.record(entry)
            return self.answer(400, {"error": "invalid_grant"})
        if not field("client_id"):
            self.record(entry)
            return self.answer(400, {"error": "invalid_request", "error_description": "client_id is required"})
        entry["authorized"] = True
        self.record(entry)
        token, _ = self.token(scopes, True, field("service"))
        self.answer(200, {"access_token": token, "expires_in": EXPIRES, "scope": " ".join(scopes)})

    def token(self, scopes, authorized, service):
        """A signed token granting `scopes` (all actions when authorized, else pull of public/)."""
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            repository, _, actions = rest.rpartition(":")
            if kind != "repository":
                continue
            if authorized:
                access.append({"type": "repository", "name": repository, "actions": actions.split(",")})
            elif repository.startswith("public/"):
                access.append({"type": "repository", "name": repository, "actions": ["pull"]})
        issued = int(time.time())
        claims = {"iss": ISSUER, "sub": USER if authorized else "", "aud": service,
                  "exp": issued + EXPIRES, "nbf": issued - 5, "iat": issued, "jti": os.urandom(8).hex(), "access": access}
        return sign(claims), issued

    def record(self, entry):
        with lock:
            with open(os.path.join(STATE, "requests.log"), "a") as f:
                f.write(json.dumps(entry) + "\n")

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(STATE, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.replace(os.path.join(STATE, "port.tmp"), os.path.join(STATE, "port"))
server.serve_forever()
