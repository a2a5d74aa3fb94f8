#!/usr/bin/env python3
"""Independent reference of coral's merge arithmetic (docs/merge.md "Definitions"), in numpy.

Written from the definitions alone: it imports nothing from coral. The unit tests
(tests/unit/vcs/merge_math_test.cpp) run it and require coral's bytes to equal its bytes.

Usage: merge_reference.py SPEC.json

SPEC.json: {"cases": [CASE, ...]}, file names relative to the spec's folder.
  merge case: {"method": "average" | "weighted" | "task_arithmetic" | "ties" | "dare" |
               "dare_ties" | "slerp",
               "dtype": "F32" | "F16" | "BF16" | "F64", "big_endian": false,
               "sides": ["ours.bin", ...], "base": "base.bin" or null,
               "key": "PATH\\u0000TENSOR", "weights": [] (empty: all 1), "normalize": true,
               "lambda": 1.0, "density": 1.0, "seed": 0, "t": 0.5, "output": "out.bin"}
  rounding case: {"method": "round", "input": "f32.bin", "output": "out.bin"}: the input's
               little-endian float32 values rounded to F16 and to BF16 (output: the F16 values,
               then the BF16 values, little-endian uint16).
Files hold the raw elements in the given byte order.

As a module: merge_arrays(case, sides, base) merges numpy arrays (float16/32/64, any byte order)
with the same CASE keys (no file names, no dtype) and returns the merged array in the sides'
dtype and shape (tests/cli/merge_numpy_test.cpp, through merge_numpy_case.py).
"""
import json
import math
import pathlib
import sys

import numpy as np

MASK = 2**64 - 1
BLOCK = 65536
CODES = {"F64": "f8", "F32": "f4", "F16": "f2"}


def load(path, dtype, big_endian):
    raw = path.read_bytes()
    order = ">" if big_endian else "<"
    if dtype == "BF16":
        bits = np.frombuffer(raw, order + "u2").astype(np.uint32) << np.uint32(16)
        return bits.view(np.float32).astype(np.float64)
    return np.frombuffer(raw, order + CODES[dtype]).astype(np.float64)


def bf16_bits(f32):
    u = f32.view(np.uint32)
    rounded = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    nan = (u >> np.uint32(16)) | np.uint32(0x0040)
    return np.where(np.isnan(f32), nan, rounded).astype(np.uint16)


def to_bytes(r, dtype, big_endian):
    """Rounds once to float32, then to the stored dtype; F64 is stored as is."""
    order = ">" if big_endian else "<"
    if dtype == "F64":
        return r.astype(order + "f8").tobytes()
    f32 = r.astype(np.float32)
    if dtype == "F32":
        return f32.astype(order + "f4").tobytes()
    if dtype == "F16":
        return f32.astype(np.float16).astype(order + "f2").tobytes()
    return bf16_bits(f32).astype(order + "u2").tobytes()


def splitmix64(x):
    """Python int in, Python int out (all mod 2^64)."""
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def splitmix64_array(x):
    """np.uint64 array in and out; numpy's uint64 arithmetic wraps around."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fnv1a(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & MASK
    return h


def dare_keep(seed, key, side, count, density):
    stream = splitmix64((splitmix64(seed ^ fnv1a(key)) + side) & MASK)
    z = splitmix64_array(np.uint64(stream) + np.arange(count, dtype=np.uint64))
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return u < density


def trim(tau, density):
    """Keeps the k = floor(density * N) largest |tau|, earlier elements first among equal ones."""
    if density >= 1:
        return tau
    k = int(math.floor(density * tau.size))
    keep = np.argsort(-np.abs(tau), kind="stable")[:k]
    out = np.zeros_like(tau)
    out[keep] = tau[keep]
    return out


def left_to_right(terms):
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def ties_mean(weights, ts, normalize=True):
    d = [w * t for w, t in zip(weights, ts)]
    elected_positive = left_to_right(d) >= 0
    m = np.zeros_like(d[0])
    div = np.zeros_like(d[0])
    for w, di in zip(weights, d):
        agrees = np.where(elected_positive, di > 0, di < 0)
        m = m + np.where(agrees, di, 0.0)
        div = div + np.where(agrees, w, 0.0)
    if not normalize:
        return m
    div = np.where(div == 0, 1.0, div)
    return m / div


def block_sum(values):
    """Sequential sums over blocks of 65536 elements, then a sequential sum of the blocks."""
    total = 0.0
    for start in range(0, values.size, BLOCK):
        block = 0.0
        for v in values[start:start + BLOCK].tolist():
            block += v
        total += block
    return total


def plus(b, delta):
    """b + delta, except that a zero delta leaves b as it is (its sign of zero too)."""
    return np.where(delta == 0, b, b + delta)


def slerp(a, c, t):
    dot, aa, cc = block_sum(a * c), block_sum(a * a), block_sum(c * c)
    cos = 0.0
    if aa != 0 and cc != 0:
        cos = float(np.float64(dot) / np.float64(math.sqrt(aa) * math.sqrt(cc)))
    if abs(cos) > 0.9995:
        return (1.0 - t) * a + t * c
    if cos < -1.0:
        cos = -1.0
    if cos > 1.0:
        cos = 1.0
    theta = math.acos(cos)
    theta_t = theta * t
    sin_theta = math.sin(theta)
    s0 = math.sin(theta - theta_t) / sin_theta
    s1 = math.sin(theta_t) / sin_theta
    return s0 * a + s1 * c


NEEDS_BASE = ("task_arithmetic", "ties", "dare", "dare_ties")


def merge(case, folder):
    dtype, big_endian = case["dtype"], case.get("big_endian", False)
    xs = [load(folder / name, dtype, big_endian) for name in case["sides"]]
    b = load(folder / case["base"], dtype, big_endian) if case["method"] in NEEDS_BASE else None
    return merge_values(case, xs, b)


def merge_arrays(case, sides, base=None):
    """The merge of numpy arrays `sides` (and `base`), in their dtype, byte order and shape."""
    dtype = sides[0].dtype
    xs = [np.ascontiguousarray(x).reshape(-1).astype(np.float64) for x in sides]
    b = None if base is None else np.ascontiguousarray(base).reshape(-1).astype(np.float64)
    with np.errstate(all="ignore"):
        r = merge_values(case, xs, b)
    name = {2: "F16", 4: "F32", 8: "F64"}[dtype.itemsize]
    big_endian = dtype.byteorder == ">" or (dtype.byteorder == "=" and sys.byteorder == "big")
    return np.frombuffer(to_bytes(r, name, big_endian), dtype).reshape(sides[0].shape)


def merge_values(case, xs, b):
    """The merge of float64 element vectors `xs` (and base `b`), as float64 before rounding."""
    n = len(xs)
    weights = [float(w) for w in case.get("weights", [])] or [1.0] * n
    lam, density = float(case.get("lambda", 1.0)), float(case.get("density", 1.0))
    method = case["method"]
    if method == "average":
        return left_to_right(xs) / n
    if method == "weighted":
        s = left_to_right([w * x for w, x in zip(weights, xs)])
        return s / left_to_right(weights) if case.get("normalize", True) else s
    if method == "slerp":
        return slerp(xs[0], xs[1], float(case.get("t", 0.5)))
    taus = [x - b for x in xs]
    if method == "task_arithmetic":
        return plus(b, lam * left_to_right([w * tau for w, tau in zip(weights, taus)]))
    if method == "ties":
        return plus(b, lam * ties_mean(weights, [trim(tau, density) for tau in taus], case.get("normalize", True)))
    key = case["key"].encode("utf-8")
    seed = int(case.get("seed", 0))
    dropped = [np.where(dare_keep(seed, key, i, b.size, density), tau / density, 0.0) for i, tau in enumerate(taus)]
    if method == "dare":
        return plus(b, lam * left_to_right([w * t for w, t in zip(weights, dropped)]))
    if method == "dare_ties":
        return plus(b, lam * ties_mean(weights, dropped, case.get("normalize", True)))
    raise SystemExit(f"unknown method {method!r}")


def main():
    spec_path = pathlib.Path(sys.argv[1])
    folder = spec_path.parent
    np.seterr(all="ignore")
    for case in json.loads(spec_path.read_text())["cases"]:
        if case["method"] == "round":
            f32 = np.frombuffer((folder / case["input"]).read_bytes(), "<f4")
            out = f32.astype(np.float16).astype("<f2").tobytes() + bf16_bits(f32).astype("<u2").tobytes()
        else:
            out = to_bytes(merge(case, folder), case["dtype"], case.get("big_endian", False))
        (folder / case["output"]).write_bytes(out)


if __name__ == "__main__":
    main()
