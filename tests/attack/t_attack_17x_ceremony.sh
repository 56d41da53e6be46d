# Attack 17x (issue 17, item 4; ADR 0117): a holder of the HSM user PIN, after
# the ceremony and its anchored head, appends a second `witness-enrolled` line
# for the ceremony's witness (wendy) with a key of their own, attested by that
# key, then lines "attested by wendy" that wendy never saw (here, a backup
# line with another bag number). Both verifiers must refuse the re-enrolment:
# a name already enrolled cannot be taken over by whoever signs lines.
# Uses a17_env and a17_both of tests/attack/t_attack_17_ceremony.sh.
# Sourced by tests/integration/run.sh.

t_attack_17x_ceremony_witness_takeover() {
  a17_env || { fail "ceremony setup"; return; }
  local T=$A17_T d=$A17/takeover head
  mkdir -p "$d"
  head=$(tail -n 1 "$T" | tr -d '\n' | sha256sum | cut -c1-64)
  env SOFTHSM2_CONF="$A17/softhsm2.conf" python3 - "$T" "$d/forged" "$d" "$(cat "$A17/pin")" <<'PY' || { fail "forge"; return; }
import copy, hashlib, json, subprocess, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
src, dst, work, pin = sys.argv[1:5]
canon = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
raw = open(src, "rb").read().split(b"\n")[:-1]
lines = [json.loads(l) for l in raw]
mallory = Ed25519PrivateKey.generate()
pk = mallory.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
enrol = copy.deepcopy(next(o for o in lines if o["action"] == "witness-enrolled"))
enrol["what"]["pk"] = pk
backup = copy.deepcopy(next(o for o in lines if o["action"] == "backup-completed"))
backup["evidence"]["bags"][0] = "TEB-000999"
prev = hashlib.sha256(raw[-1]).hexdigest()
out = list(raw)
for o in (enrol, backup):
    o.pop("sig", None); o.pop("witnesses", None)
    o["seq"] = len(out) + 1; o["prev"] = prev
    o["witnesses"] = [{"name": "wendy", "sig": mallory.sign(b"strongroom/transcript-witness/v1\n" + canon(o)).hex()}]
    open(work + "/digest.bin", "wb").write(hashlib.sha256(canon(o)).digest())
    subprocess.run(["pkcs11-tool", "--module", "/usr/lib/softhsm/libsofthsm2.so", "--token-label", "a17",
                    "--login", "--pin", pin, "--sign", "--mechanism", "ECDSA", "--label", "ceremony-sign-v1",
                    "-i", work + "/digest.bin", "-o", work + "/sig.bin"], check=True, capture_output=True)
    o["sig"] = open(work + "/sig.bin", "rb").read().hex()
    b = canon(o); out.append(b); prev = hashlib.sha256(b).hexdigest()
open(dst, "wb").write(b"".join(x + b"\n" for x in out))
PY
  a17_both "$d/forged" "$A17/signer.pem" --anchor "$head"
  eq "witness taken over: C" "$A17_RC_C" 3
  eq "witness taken over: Python" "$A17_RC_PY" 3
  [ "$(grep -c "already enrolled" <<<"$A17_OUT")" = 2 ] || fail "witness taken over: $A17_OUT"
}
