#!/usr/bin/env python3
"""Independent verifier of a Strongroom key ceremony transcript.

Written from docs/decisions/0117-ceremonies-a-security-team-can-sign.md
("Format, for an independent verifier") alone, not from the C code, so that
an auditor does not have to trust vaultctl to check vaultctl's output.

    verify_transcript.py TRANSCRIPT --pubkey SIGNER.pem [--tsa-ca CA.pem] [--anchor HEX]
                         [--allow-untimed]

Needs python3, python3-cryptography and the openssl command (RFC 3161 tokens).
Exit status: 0 intact, 3 tampered, 4 refused (the last lines have no trusted
time after them, and no --allow-untimed), 2 usage or environment error.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

WITNESS_DOMAIN = b"strongroom/transcript-witness/v1\n"
ZERO = "0" * 64


class Broken(Exception):
    """The transcript is tampered with at the current line."""


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Broken("duplicate key")
    return dict(pairs)


def unhex(s, n):
    if not isinstance(s, str) or not re.fullmatch("[0-9a-fA-F]{%d}" % (2 * n), s):
        raise Broken("not %d bytes of hex" % n)
    return bytes.fromhex(s)


def check_rfc3161(what, prev, tsa_ca):
    if what.get("stamped_head") != prev:
        raise Broken("time stamp: stamped_head is not this line's prev")
    if tsa_ca is None:
        raise Broken("an RFC 3161 time stamp and no --tsa-ca to check it with")
    try:
        der = base64.b64decode(what.get("response", ""), validate=True)
    except (ValueError, TypeError):
        raise Broken("time stamp: response is not base64")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "resp.tsr")
        with open(path, "wb") as f:
            f.write(der)
        ok = subprocess.run(["openssl", "ts", "-verify", "-in", path, "-digest", prev,
                             "-CAfile", tsa_ca], capture_output=True, text=True)
        if ok.returncode != 0 or "Verification: OK" not in ok.stdout:
            raise Broken("time stamp: the TSA's token does not verify for this head")
        text = subprocess.run(["openssl", "ts", "-reply", "-in", path, "-text"],
                              capture_output=True, text=True).stdout
    m = re.search(r"^Time stamp: (\w{3}) +(\d+) (\d\d:\d\d:\d\d)(?:\.\d+)? (\d{4}) GMT$",
                  text, re.M)
    if m is None:
        raise Broken("time stamp: no genTime in the token")
    t = datetime.strptime("%s %s %s %s" % m.groups(), "%b %d %H:%M:%S %Y")
    if t.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") != what.get("gen_time"):
        raise Broken("time stamp: gen_time is not the TSA's time")


def verify(path, pubkey, tsa_ca, anchor):
    with open(pubkey, "rb") as f:
        signer = serialization.load_pem_public_key(f.read())
    if not isinstance(signer, ec.EllipticCurvePublicKey) or signer.curve.name != "secp256r1":
        raise SystemExit("verify_transcript: the public key is not P-256")
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return 1, 0, "the transcript is empty", ZERO, {}
    witnesses = {}
    removed = set()   # a removed witness's name is never enrolled again
    prev = ZERO
    stats = {"attested": 0, "rfc3161": 0, "clock": 0, "anchor_line": 0, "untimed_from": 0}
    raw_lines = data.split(b"\n")
    if raw_lines[-1] != b"":
        return 1, len(raw_lines), "incomplete last line (no newline)", prev, stats
    for n, raw in enumerate(raw_lines[:-1], start=1):
        try:
            try:
                o = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
            except ValueError:
                raise Broken("not JSON")
            if not isinstance(o, dict):
                raise Broken("not a JSON object")
            if canonical(o) != raw:
                raise Broken("not in canonical form")
            if o.get("seq") != n or isinstance(o.get("seq"), bool):
                raise Broken("seq is not the line number")
            if o.get("prev") != prev:
                raise Broken("prev is not the previous line's hash")
            sig = unhex(o.pop("sig", None), 64)
            try:
                signer.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                                   int.from_bytes(sig[32:], "big")),
                              canonical(o), ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                raise Broken("the HSM's signature does not verify")
            what = o.get("what") if isinstance(o.get("what"), dict) else {}
            enrolled = None
            if o.get("action") == "witness-enrolled":
                enrolled = what.get("name")
                if not isinstance(enrolled, str):
                    raise Broken("an enrolment without a name")
                if enrolled in witnesses or enrolled in removed:
                    raise Broken("witness %s is already enrolled: a name keeps its key" % enrolled)
                witnesses[enrolled] = unhex(what.get("pk"), 32)
            if o.get("action") == "witness-removed":
                gone = what.get("name")
                if not isinstance(gone, str) or gone not in witnesses:
                    raise Broken("the removal of a witness who is not enrolled")
                del witnesses[gone]
                removed.add(gone)
            attested = set()
            if "witnesses" in o:
                ws = o.pop("witnesses")
                if not isinstance(ws, list) or not ws:
                    raise Broken("witnesses is not a non-empty list")
                msg = WITNESS_DOMAIN + canonical(o)
                for w in ws:
                    name = w.get("name") if isinstance(w, dict) else None
                    if name not in witnesses:
                        raise Broken("attested by a witness who is not enrolled")
                    try:
                        Ed25519PublicKey.from_public_bytes(witnesses[name]).verify(
                            unhex(w.get("sig"), 64), msg)
                    except InvalidSignature:
                        raise Broken("witness %s's signature does not verify" % name)
                    attested.add(name)
                stats["attested"] += 1
            if enrolled is not None and enrolled not in attested:
                raise Broken("an enrolment the new witness does not attest")
            if o.get("action") == "trusted-time":
                if what.get("source") == "rfc3161":
                    check_rfc3161(what, prev, tsa_ca)
                    stats["rfc3161"] += 1
                elif what.get("source") == "witness-clock-reading":
                    if not attested:
                        raise Broken("a clock reading no witness attests")
                    stats["clock"] += 1
                else:
                    raise Broken("a trusted time of unknown source")
        except Broken as e:
            return 1, n, str(e), prev, stats
        prev = hashlib.sha256(raw).hexdigest()
        if o.get("action") == "trusted-time":
            stats["untimed_from"] = 0
        elif not stats["untimed_from"]:
            stats["untimed_from"] = n
        if anchor is not None and prev == anchor:
            stats["anchor_line"] = n
    if anchor is not None and not stats["anchor_line"]:
        return 1, 0, "the anchored head is not the hash of any line", prev, stats
    return 0, len(raw_lines) - 1, "", prev, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("transcript")
    ap.add_argument("--pubkey", required=True, help="the signer's public key, PEM")
    ap.add_argument("--tsa-ca", help="the TSA's CA certificate, PEM")
    ap.add_argument("--anchor", help="a head anchored outside the vault host (64 hex)")
    ap.add_argument("--allow-untimed", action="store_true",
                    help="accept last lines that no trusted time follows (a warning)")
    a = ap.parse_args()
    if a.anchor is not None and not re.fullmatch("[0-9a-f]{64}", a.anchor):
        ap.error("--anchor takes 64 lower-case hex digits")
    try:
        rc, n, why, head, st = verify(a.transcript, a.pubkey, a.tsa_ca, a.anchor)
    except (OSError, ValueError) as e:
        print("verify_transcript: %s" % e, file=sys.stderr)
        return 2
    if rc:
        print("transcript BROKEN%s: %s" % (" at line %d" % n if n else "", why))
        return 3
    if st["untimed_from"] and not a.allow_untimed:
        print("transcript REFUSED: no trusted time after line %d: lines %d-%d have none "
              "after them (each ceremony ends with one); --allow-untimed verifies them "
              "anyway" % (n, st["untimed_from"], n))
        return 4
    print("transcript intact: %d lines verified; head %s" % (n, head))
    if st["untimed_from"]:
        print("WARNING: lines %d-%d have no trusted time after them (--allow-untimed)"
              % (st["untimed_from"], n))
    print("%d lines attested by witnesses; %d RFC 3161 time stamps; %d witness clock readings"
          % (st["attested"], st["rfc3161"], st["clock"]))
    if a.anchor is not None:
        print("anchored head found at line %d" % st["anchor_line"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
