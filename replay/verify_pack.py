#!/usr/bin/env python3
"""Verifies a Roster evidence pack with Python's standard library and the openssl CLI only.

usage: python3 verify.py PACK.tar [--public-key VERIFIER_KEY] [--account A]

Checks, in order: that the pack's key is the pinned one, or is reached from it through the
signed rotation statements of key-rotations.txt (each signed by the key before it and by the key
it introduces), the checkpoint's and the manifest's Ed25519 signatures (openssl pkeyutl), that
the manifest binds this checkpoint, every event's files against its manifest entry (SHA-256 of
the envelope, of the JSON, the leaf hash SHA-256(0x00 || envelope)), each RFC 9162 inclusion
proof up to the signed root, that the envelope's position and type are the JSON's, positions
strictly increasing, times inside the range, and no file missing or extra.
Exit 0 and a summary when all hold; 1 naming the first failure otherwise; 2 on bad usage.
"""
import base64
import datetime
import hashlib
import json
import os
import struct
import subprocess
import sys
import tarfile
import tempfile

MANIFEST_HEADER = "roster evidence manifest v1\n"
SPKI_ED25519_PREFIX = bytes.fromhex("302a300506032b6570032100")
FIXED = {"README.md", "verify.py", "checkpoint.txt", "public-key.pem", "verifier-key.txt", "manifest.json",
         "manifest.sig"}
ROTATIONS = "key-rotations.txt"  # absent from packs made before rotations were carried
ROTATION_HEADER = "roster signing-key rotation v1"
MAX_ROTATIONS = 4096


class Failure(Exception):
    pass


def sha256(data):
    return hashlib.sha256(data).digest()


def parse_verifier_key(text):
    # "<name>+<key id hex>+<base64(0x01 || 32-byte key)>" (C2SP signed-note verifier key)
    name, key_id, b64 = text.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if len(raw) != 33 or raw[0] != 1:
        raise Failure("the verifier key is not an Ed25519 key")
    if sha256(name.encode() + b"\n" + raw)[:4].hex() != key_id:
        raise Failure("the verifier key's id does not match its name and key")
    return name, bytes.fromhex(key_id), raw[1:]


def pem_of(key):
    b64 = base64.b64encode(SPKI_ED25519_PREFIX + key).decode()
    return "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n"


def key_of_pem(pem):
    body = "".join(l for l in pem.decode().splitlines() if not l.startswith("-----"))
    der = base64.b64decode(body)
    if len(der) != 44 or not der.startswith(SPKI_ED25519_PREFIX):
        raise Failure("public-key.pem is not an Ed25519 SubjectPublicKeyInfo")
    return der[12:]


def openssl_verify(pem, message, signature):
    with tempfile.TemporaryDirectory() as d:
        paths = [os.path.join(d, n) for n in ("key.pem", "msg", "sig")]
        for p, data in zip(paths, (pem.encode(), message, signature)):
            with open(p, "wb") as f:
                f.write(data)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", paths[0], "-rawin", "-in", paths[1],
                            "-sigfile", paths[2]], capture_output=True)
        return r.returncode == 0


def open_note(note, what, name, key_id, pem):
    # A C2SP signed note: text, a blank line, lines "\u2014 <name> <base64(key id || signature)>".
    text, sep, sigs = note.partition(b"\n\n")
    if not sep:
        raise Failure(what + " is not a signed note")
    text += b"\n"
    for line in sigs.decode().splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or parts[1] != name:
            continue
        raw = base64.b64decode(parts[2])
        if raw[:4] == key_id and len(raw) == 68:
            if not openssl_verify(pem, text, raw[4:]):
                raise Failure(what + ": the signature does not verify")
            return text.decode()
    raise Failure(what + ": no signature by " + name)


def parse_rotations(data):
    # Each statement (a signed note) followed by one empty line: text, "", signatures, "".
    parts = data.decode().split("\n\n")
    if parts[-1] != "" or len(parts) % 2 != 1 or len(parts) // 2 > MAX_ROTATIONS:
        raise Failure(ROTATIONS + " is not a list of signed notes")
    return [(parts[i] + "\n\n" + parts[i + 1] + "\n").encode() for i in range(0, len(parts) - 1, 2)]


def statement_keys(note, n):
    # "roster signing-key rotation v1", origin, "old <key>", "new <key>", "tree <size>"
    lines = note.decode().partition("\n\n")[0].split("\n")
    if (len(lines) != 5 or lines[0] != ROTATION_HEADER or not lines[2].startswith("old ")
            or not lines[3].startswith("new ") or not lines[4].startswith("tree ") or not lines[4][5:].isdigit()):
        raise Failure("rotation statement %d is not a rotation statement (v1)" % n)
    old, new = parse_verifier_key(lines[2][4:]), parse_verifier_key(lines[3][4:])
    if old[0] != lines[1] or new[0] != lines[1] or old == new:
        raise Failure("rotation statement %d: its keys are not two keys of its origin" % n)
    return old, new


def walk_rotations(pinned, notes):
    # From the pin to the key the last statement introduces: statements up to the last one that
    # introduced the pin are history it covers; each after it must be signed by the key trusted
    # before it (the authority) and by the key it introduces (proof of possession).
    keys = [statement_keys(note, i + 1) for i, note in enumerate(notes)]
    start = max([i + 1 for i, (_, new) in enumerate(keys) if new == pinned], default=0)
    trusted = pinned
    for i in range(start, len(notes)):
        old, new = keys[i]
        what = "rotation statement %d of %d" % (i + 1, len(notes))
        if old != trusted:
            raise Failure(what + " does not rotate from the trusted key")
        for name, key_id, key in (old, new):
            open_note(notes[i], what, name, key_id, pem_of(key))
        trusted = new
    return trusted


def verify_inclusion(leaf, index, size, path, root):
    # RFC 9162 section 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def envelope_fields(b):
    # The stored envelope is one canonical Cap'n Proto message (schema/envelope.capnp): word 0
    # points at the Envelope struct, whose data section starts with position (UInt64) and whose
    # second pointer is `type` (Text); recordedAt is data word 2 (microseconds, UTC).
    (root,) = struct.unpack_from("<Q", b, 0)
    if root & 3 != 0:
        raise Failure("envelope: the root is not a struct")
    off = (root >> 2) & 0x3FFFFFFF
    off = off - (1 << 30) if off & (1 << 29) else off
    start, data_words = 1 + off, (root >> 32) & 0xFFFF
    if data_words < 3 or (start + data_words + 2) * 8 > len(b):
        raise Failure("envelope: truncated")
    position, _, recorded_at = struct.unpack_from("<QQq", b, start * 8)
    at = start + data_words + 1  # pointer 1: type
    (ptr,) = struct.unpack_from("<Q", b, at * 8)
    type_ = ""
    if ptr:
        poff = (ptr >> 2) & 0x3FFFFFFF
        poff = poff - (1 << 30) if poff & (1 << 29) else poff
        count, target = ptr >> 35, (at + 1 + poff) * 8
        if ptr & 3 != 1 or (ptr >> 32) & 7 != 2 or count == 0 or target + count > len(b):
            raise Failure("envelope: type is not text")
        type_ = b[target:target + count - 1].decode()
    when = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=recorded_at)
    return position, type_, when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def verify(path, pinned=None, account=None):
    with tarfile.open(path) as tar:
        files = {}
        for m in tar.getmembers():
            if m.isdir():  # a reviewer's re-made tar has them
                continue
            name = m.name[2:] if m.name.startswith("./") else m.name
            if not m.isfile():
                raise Failure("unexpected tar entry " + name)
            if name in files:
                raise Failure("duplicate file " + name)
            files[name] = tar.extractfile(m).read()
    rotations = 0
    for name in FIXED:
        if name not in files:
            raise Failure("missing " + name)
    pem = files["public-key.pem"].decode()
    name, key_id, key = parse_verifier_key(files["verifier-key.txt"].decode())
    if key_of_pem(files["public-key.pem"]) != key:
        raise Failure("public-key.pem and verifier-key.txt are different keys")
    if pinned:
        p_name, p_id, p_key = parse_verifier_key(pinned)
        if (p_name, p_id, p_key) != (name, key_id, key):
            if ROTATIONS not in files:
                raise Failure("the pack's key is not the pinned key (and the pack has no key-rotations.txt)")
            notes = parse_rotations(files[ROTATIONS])
            if walk_rotations((p_name, p_id, p_key), notes) != (name, key_id, key):
                raise Failure("the pack's key is not the pinned key nor reached from it by key-rotations.txt")
            rotations = len(notes)
    cp = open_note(files["checkpoint.txt"], "checkpoint.txt", name, key_id, pem).split("\n")
    origin, tree_size, root = cp[0], int(cp[1]), base64.b64decode(cp[2])
    sig_text = open_note(files["manifest.sig"], "manifest.sig", name, key_id, pem)
    if sig_text != MANIFEST_HEADER + hashlib.sha256(files["manifest.json"]).hexdigest() + "\n":
        raise Failure("manifest.sig does not sign this manifest.json")
    m = json.loads(files["manifest.json"])
    if m.get("format") != "roster-evidence-v1":
        raise Failure("manifest: unknown format")
    if (m["origin"], m["tree_size"], m["root"]) != (origin, tree_size, cp[2]):
        raise Failure("manifest: not about checkpoint.txt (origin, tree_size, root)")
    if m["checkpoint_sha256"] != hashlib.sha256(files["checkpoint.txt"]).hexdigest():
        raise Failure("manifest: checkpoint_sha256 is not checkpoint.txt's")
    if account is not None and m["account"] != account:
        raise Failure("manifest: account is " + m["account"] + ", not " + account)
    if m["count"] != len(m["events"]):
        raise Failure("manifest: count differs from its events")
    expected, last = set(FIXED) | {ROTATIONS}, 0
    for e in m["events"]:
        p = e["position"]
        if p <= last:
            raise Failure("manifest: position %d is not after %d" % (p, last))
        last = p
        where = "event %d: " % p
        names = ["events/%d.bin" % p, "events/%d.json" % p, "proofs/%d.json" % p]
        for n in names:
            if n not in files:
                raise Failure(where + "missing " + n)
        expected.update(names)
        b, j, pr = (files[n] for n in names)
        if hashlib.sha256(b).hexdigest() != e["envelope_sha256"]:
            raise Failure(where + "envelope bytes differ from envelope_sha256")
        leaf = sha256(b"\x00" + b)
        if leaf.hex() != e["leaf_hash"]:
            raise Failure(where + "leaf hash differs")
        if hashlib.sha256(j).hexdigest() != e["json_sha256"]:
            raise Failure(where + "JSON differs from json_sha256")
        proof = json.loads(pr)
        if (proof["position"], proof["leaf_index"], proof["tree_size"]) != (p, p - 1, tree_size):
            raise Failure(where + "proof is for another position or tree")
        if base64.b64decode(proof["leaf_hash"]) != leaf:
            raise Failure(where + "proof's leaf hash differs")
        if not verify_inclusion(leaf, p - 1, tree_size, [base64.b64decode(h) for h in proof["hashes"]], root):
            raise Failure(where + "inclusion proof does not lead to the checkpoint's root")
        position, type_, recorded_at = envelope_fields(b)
        ev = json.loads(j)
        if position != p or ev["position"] != p:
            raise Failure(where + "envelope or JSON names another position")
        if type_ != e["type"] or ev["type"] != type_:
            raise Failure(where + "type differs between envelope, JSON and manifest")
        if recorded_at != e["recorded_at"] or ev["recorded_at"] != recorded_at:
            raise Failure(where + "recorded_at differs between envelope, JSON and manifest")
        if (m["since"] and recorded_at < m["since"]) or (m["until"] and recorded_at >= m["until"]):
            raise Failure(where + "recorded outside the manifest's range")
    extra = sorted(set(files) - expected)
    if extra:
        raise Failure("file not in the manifest: " + extra[0])
    return m, pinned is not None, rotations


def main(argv):
    args, pinned, account = [], None, None
    it = iter(argv)
    for a in it:
        if a == "--public-key":
            pinned = next(it, None)
        elif a == "--account":
            account = next(it, None)
        else:
            args.append(a)
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        m, was_pinned, rotations = verify(args[0], pinned, account)
    except (Failure, KeyError, ValueError, TypeError, struct.error, tarfile.TarError, OSError) as e:
        print("verify-pack: FAILED: %s" % (e if isinstance(e, Failure) else "malformed pack (%r)" % e),
              file=sys.stderr)
        return 1
    print("verify-pack: ok: %d events of account %s in [%s, %s), tree size %d of %s, %s" %
          (m["count"], m["account"], m["since"] or "-", m["until"] or "-", m["tree_size"], m["origin"],
           ("key pinned, reached through key-rotations.txt" if rotations else "key pinned") if was_pinned
           else "checked against the pack's own key (pin it with --public-key)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
