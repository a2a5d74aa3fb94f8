#!/usr/bin/env python3
"""The numpy side of tests/cli/merge_numpy_test.cpp: checkpoints written by numpy itself, and the
check of what `coral merge` checked out against merge_reference.py, bit for bit.

Usage:
  merge_numpy_case.py make OUT
      Writes OUT/base, OUT/ft-a, OUT/ft-b and OUT/ft-c, each a folder `model/` of files written
      by np.save / np.savez (uncompressed): the base, and three fine-tunes of it, each the base
      plus a seeded sparse perturbation (FILES below says which branches change what).
  merge_numpy_case.py check SPEC.json
      SPEC.json: {"versions": FOLDER (holding base/, ft-a/, ...), "files": [PATH, ...] (those
                  to check, of FILES), "cases": [CASE, ...]}
      CASE: {"name": ..., "dir": FOLDER holding the merged model/, "sides": ["ft-a", ...],
             "keys": {"model/w.npy": "array", ...} (coral's tensor name of each tensor, by file
             and member), plus merge_reference.py's keys: method, weights, normalize, lambda,
             density, seed, t}
      For every file and tensor: the expected result by coral's rule (unchanged on every side:
      the base; changed on one side only, or identically: that side's bytes; otherwise every
      side merged by merge_reference.merge_arrays with the key "PATH\\0TENSOR"). Prints one JSON
      object: {"cases": {name: [problem, ...]}, "merged": {name: N}}: an empty list is a pass;
      N counts the tensors the reference computed by arithmetic (not taken from one side).
"""
import io
import json
import pathlib
import struct
import sys
import zipfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import merge_reference  # noqa: E402

BRANCHES = ("ft-a", "ft-b", "ft-c")
# file -> array name (None for .npy) -> (dtype, shape, branches that change it, delta scale)
FILES = {
    # 122880 elements: two of coral's parallel blocks of 65536 (TIES' ties across blocks, --jobs)
    "model/w.npy": {None: ("<f4", (384, 320), BRANCHES, 1.0)},
    "model/h.npy": {None: ("<f2", (300,), BRANCHES, 1.0)},
    # changed on two of three: ft-c's version (the base's) is a side of the merge too
    "model/d.npy": {None: ("<f8", (200,), ("ft-a", "ft-b"), 1.0)},
    "model/only_a.npy": {None: ("<f4", (50,), ("ft-a",), 1.0)},
    "model/pack.npz": {
        # tiny changes: slerp's nearly parallel (linear) branch
        "emb": ("<f4", (32, 16), BRANCHES, 2.0**-10),
        "bias": ("<f8", (24,), ("ft-b", "ft-c"), 1.0),
    },
}


def base_array(index, dtype, shape):
    """Multiples of 1/256 in [-2, 2): exact in F16, so equal perturbations give equal |tau|."""
    rng = np.random.default_rng(1000 + index)
    return (rng.integers(-512, 512, size=shape) / 256.0).astype(dtype)


def perturbed(base, branch_index, tensor_index, scale):
    """base + a sparse perturbation: 42% of the elements moved by +-scale * {1, 1/2, 1/4, 1/8}
    (many equal magnitudes, opposite signs across branches), a few by a random amount. With TIES'
    density 0.3, the kept elements of w.npy end inside the group of magnitude 1/4, past element
    65536: the tie between equal magnitudes is broken by index across coral's parallel blocks."""
    rng = np.random.default_rng(7919 * (branch_index + 1) + tensor_index)
    flat = base.astype(np.float64).reshape(-1)
    n = flat.size
    changed = rng.random(n) < 0.42
    magnitude = scale * rng.choice([1.0, 0.5, 0.25, 0.125], size=n, p=[0.2, 0.2, 0.4, 0.2])
    sign = rng.choice([-1.0, 1.0], size=n)
    delta = np.where(changed, sign * magnitude, 0.0)
    odd = rng.random(n) < 0.05
    delta = np.where(changed & odd, scale * rng.normal(size=n), delta)
    return (flat + delta).astype(base.dtype).reshape(base.shape)


def npy_bytes(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def make(out):
    out = pathlib.Path(out)
    versions = {v: {} for v in ("base",) + BRANCHES}
    index = 0
    for path, arrays in FILES.items():
        for name, (dtype, shape, branches, scale) in arrays.items():
            b = base_array(index, dtype, shape)
            versions["base"].setdefault(path, {})[name] = b
            for k, branch in enumerate(BRANCHES):
                x = perturbed(b, k, index, scale) if branch in branches else b
                versions[branch].setdefault(path, {})[name] = x
            index += 1
    for version, files in versions.items():
        for path, arrays in files.items():
            target = out / version / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.endswith(".npz"):
                np.savez(target, **arrays)
            else:
                np.save(target, arrays[None])


def npz_members(path):
    """name -> the stored bytes of each member, read from the local headers (no CRC check)."""
    data = pathlib.Path(path).read_bytes()
    members = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            o = info.header_offset
            name_len, extra_len = struct.unpack("<HH", data[o + 26:o + 30])
            start = o + 30 + name_len + extra_len
            members[info.filename] = (info.compress_type, data[start:start + info.compress_size])
    return members


def load_version(folder, files):
    """path -> name -> (array, stored bytes) of one version's model/ folder."""
    out = {}
    for path in files:
        arrays = FILES[path]
        f = pathlib.Path(folder) / path
        if path.endswith(".npz"):
            members = npz_members(f)
            out[path] = {}
            for name in arrays:
                _, raw = members[name + ".npy"]
                out[path][name] = (np.load(io.BytesIO(raw)), raw)
        else:
            out[path] = {None: (np.load(f), f.read_bytes())}
    return out


def expected_array(case, path, name, versions, base, problems):
    """The merged array by coral's rule, and whether arithmetic produced it."""
    b, b_raw = base[path][name]
    sides = [versions[s][path][name] for s in case["sides"]]
    changed = [i for i, (_, raw) in enumerate(sides) if raw != b_raw]
    if not changed:
        return b, False
    if all(sides[i][1] == sides[changed[0]][1] for i in changed):
        return sides[changed[0]][0], False
    key_name = case["keys"].get(path + (":" + name if name else ""))
    if key_name is None:
        problems.append(f"{path}:{name}: no coral tensor name given")
        return b, True
    ref_case = {k: v for k, v in case.items() if k not in ("name", "dir", "sides", "keys")}
    ref_case["key"] = path + "\0" + key_name
    return merge_reference.merge_arrays(ref_case, [x for x, _ in sides], b), True


def first_difference(got, want):
    g = got.reshape(-1).view("u%d" % got.dtype.itemsize)
    w = want.reshape(-1).view("u%d" % want.dtype.itemsize)
    bad = np.flatnonzero(g != w)
    i = int(bad[0])
    return (f"{bad.size} of {g.size} elements differ; first at {i}: coral {got.reshape(-1)[i]!r} "
            f"(0x{int(g[i]):x}), reference {want.reshape(-1)[i]!r} (0x{int(w[i]):x})")


def check_case(case, files, versions, base):
    problems = []
    merged_any = 0
    out = pathlib.Path(case["dir"])
    for path in files:
        arrays = FILES[path]
        f = out / path
        if not f.exists():
            problems.append(f"{path}: missing")
            continue
        if path.endswith(".npz"):
            try:
                with zipfile.ZipFile(f) as z:
                    bad = z.testzip()
                    names = sorted(z.namelist())
                if bad is not None:
                    problems.append(f"{path}: member {bad} fails its CRC-32 check (np.load raises BadZipFile)")
                if names != sorted(n + ".npy" for n in arrays):
                    problems.append(f"{path}: members {names}")
            except zipfile.BadZipFile as e:
                problems.append(f"{path}: not a zip archive: {e}")
                continue
            members = npz_members(f)
        for name in arrays:
            want, merged = expected_array(case, path, name, versions, base, problems)
            merged_any += merged
            where = f"{path}:{name}" if name else path
            if path.endswith(".npz"):
                method, raw = members.get(name + ".npy", (None, b""))
                if method != zipfile.ZIP_STORED:
                    problems.append(f"{where}: member not stored uncompressed (method {method})")
                    continue
            else:
                raw = f.read_bytes()
            # The whole .npy image: numpy's header for the expected array, then its data.
            want_raw = npy_bytes(want)
            if raw == want_raw:
                continue
            got = np.load(io.BytesIO(raw))
            if got.dtype != want.dtype or got.shape != want.shape:
                problems.append(f"{where}: {got.dtype} {got.shape}, expected {want.dtype} {want.shape}")
            elif raw[:len(raw) - got.nbytes] != want_raw[:len(want_raw) - want.nbytes]:
                problems.append(f"{where}: npy header differs: {raw[:len(raw) - got.nbytes]!r}")
            else:
                problems.append(f"{where}: " + first_difference(got, want))
    return problems, merged_any


def check(spec_path):
    spec = json.loads(pathlib.Path(spec_path).read_text())
    folder = pathlib.Path(spec["versions"])
    files = spec["files"]
    versions = {v: load_version(folder / v, files) for v in ("base",) + BRANCHES}
    report = {"cases": {}, "merged": {}}
    for case in spec["cases"]:
        problems, merged = check_case(case, files, versions, versions["base"])
        report["cases"][case["name"]] = problems
        report["merged"][case["name"]] = merged
    print(json.dumps(report))


def main():
    np.seterr(all="ignore")
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")


if __name__ == "__main__":
    main()
