#!/usr/bin/env bash
# Makes the golden repository of a format version: tests/data/golden/v<N>.tar.gz. Run ONCE per
# format version with the coral of that version, then never edit the archive: every later coral
# must still read it (tests/cli/golden_test.cpp).
#   tests/data/make_golden.sh path/to/coral 1
set -euo pipefail
coral=$(realpath "$1")
version=$2
out=$(cd "$(dirname "$0")" && pwd)/golden/v$version.tar.gz
[ -e "$out" ] && { echo "refusing to overwrite $out: golden repositories are never edited" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir repo && cd repo
export CORAL_AUTHOR_NAME="Golden Maker" CORAL_AUTHOR_EMAIL="golden@coral.invalid"
"$coral" init
/usr/bin/python3 - <<'PY'
import json, struct, os
import numpy as np
rng = np.random.default_rng(1)
def safetensors(path, tensors, meta):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, arr, dt in tensors:
        b = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)
os.makedirs("ckpt", exist_ok=True)
w = rng.normal(0, 0.02, (64, 32)).astype(np.float32)
safetensors("ckpt/model.safetensors", [("w", w, "F32"), ("b", np.zeros(32, np.float32), "F32"),
            ("h", w[:4].astype(np.float16), "F16"), ("ids", np.arange(5, dtype=np.int64), "I64")], {"format": "pt"})
np.save("ckpt/opt.npy", rng.normal(size=(8, 8)).astype(">f4"))
np.savez("ckpt/extra.npz", a=np.arange(10, dtype=np.int32), b=np.ones((3, 3), np.float64))
with open("ckpt/config.json", "w") as f: json.dump({"hidden": 32}, f)
PY
"$coral" add ckpt
"$coral" commit -m "epoch 1" --metric val_loss=2.5 --metric acc=0.25
"$coral" tag v1
/usr/bin/python3 - <<'PY'
import numpy as np, json, struct
with open("ckpt/model.safetensors", "rb") as f: data = bytearray(f.read())
n = struct.unpack("<Q", data[:8])[0]
w = np.frombuffer(bytes(data[8 + n: 8 + n + 64 * 32 * 4]), np.float32).copy()
w += 1e-3
data[8 + n: 8 + n + w.nbytes] = w.tobytes()
open("ckpt/model.safetensors", "wb").write(data)
open("notes.txt", "w").write("a raw file\n")
PY
"$coral" add ckpt notes.txt
"$coral" commit -m "epoch 2" --metric val_loss=2.25
"$coral" tag -m "annotated release" v2
"$coral" checkout -b finetune HEAD~1
echo '{"hidden": 32, "lr": 0.1}' > ckpt/config.json
"$coral" add ckpt/config.json
"$coral" commit -m "finetune config"
"$coral" checkout main
# Expected results, recorded next to the repository.
mkdir -p ../expected
"$coral" log --json main > ../expected/log-main.json
"$coral" log --json finetune > ../expected/log-finetune.json
for rev in v1 v2 finetune; do
  "$coral" checkout --force "$rev" >/dev/null 2>&1
  mkdir -p "../expected/$rev"
  cp -r ckpt "../expected/$rev/"
  [ -f notes.txt ] && cp notes.txt "../expected/$rev/"
done
"$coral" checkout --force main >/dev/null 2>&1
cd "$work"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2026-11-23 00:00:00' -czf "$out" repo expected
echo "wrote $out"
