#!/usr/bin/python3
"""Reference merger for benchmarks/bench.py: the job of `coral merge`, done the way a mergekit-style
Python tool does it, in float32 numpy.

    /usr/bin/python3 benchmarks/ref_merge.py --base DIR --out DIR --strategy S [--density D]
        [--lambda L] [--seed N] SIDE_DIR...

Every `*.safetensors` file of the base directory is merged tensor by tensor with the same-named
file of each side: the files are memory-mapped (as the `safetensors` library does), each tensor
is read with np.frombuffer after parsing the JSON header, and the merged tensor is written at the
same offset of an output file that has the base's header byte for byte (same names, dtypes,
shapes and offsets). Every other file (config.json, tokenizer.json, the shard index) is copied
from the first side. Strategies, per tensor, in float32 (task vectors t_i = side_i - base):

    average           the mean of the sides (np.mean over the stacked sides)
    task-arithmetic   base + lambda * sum(t_i)
    ties              t_i trimmed to its top `density` fraction by magnitude (np.argpartition),
                      the sign elected per element by the sign of the sum, the disjoint mean of
                      the trimmed values that have the elected sign (divided by how many have it),
                      times lambda, added to the base (mergekit's `ties`)
    dare-ties         each element of t_i kept with probability `density` (a numpy random mask,
                      np.random.default_rng(seed)), rescaled by 1/density, then TIES' election and
                      disjoint mean as above (mergekit's `dare_ties` with normalize: true)

Only floating-point tensors (F16, F32, F64) are merged; the others are copied from the first side.
The results are close to coral's but not bit-identical: coral computes in double and rounds once,
has its own DARE random stream (docs/merge.md "Definitions"), and takes a tensor changed on one side
only as it is, where this script computes every tensor.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import shutil
import sys

import numpy as np

DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64}


class SafeTensors:
    """A memory-mapped safetensors file: its header bytes and its tensors as numpy views."""

    def __init__(self, path: str):
        self.f = open(path, "rb")
        self.map = mmap.mmap(self.f.fileno(), 0, access=mmap.ACCESS_READ)
        n = int.from_bytes(self.map[:8], "little")
        self.prefix = bytes(self.map[:8 + n])  # the 8-byte length and the JSON header
        self.start = 8 + n
        self.header = json.loads(self.prefix[8:])
        self.tensors = {k: v for k, v in self.header.items() if k != "__metadata__"}

    def raw(self, name: str) -> memoryview:
        b, e = self.tensors[name]["data_offsets"]
        return memoryview(self.map)[self.start + b:self.start + e]

    def array(self, name: str) -> np.ndarray:
        return np.frombuffer(self.raw(name), dtype=DTYPES[self.tensors[name]["dtype"]])


def trim_magnitude(t: np.ndarray, density: float) -> np.ndarray:
    """t with all but its k = floor(density * N) largest magnitudes set to zero."""
    n = t.size
    k = int(density * n)
    if k >= n:
        return t
    out = np.zeros_like(t)
    if k > 0:
        idx = np.argpartition(np.abs(t), n - k)[n - k:]
        out[idx] = t[idx]
    return out


def ties_combine(deltas: np.ndarray) -> np.ndarray:
    """Sign election by the sign of the sum, then the disjoint mean of the agreeing values."""
    sign = np.where(deltas.sum(axis=0) >= 0, np.float32(1), np.float32(-1)).astype(deltas.dtype)
    agree = np.sign(deltas) == sign  # zeros never agree
    mixed = (deltas * agree).sum(axis=0)
    divisor = agree.sum(axis=0).astype(deltas.dtype)
    divisor[divisor == 0] = 1
    return mixed / divisor


def merge_tensor(strategy: str, base: np.ndarray | None, sides: list[np.ndarray], density: float,
                 lam: float, rng: np.random.Generator) -> np.ndarray:
    dt = sides[0].dtype
    if strategy == "average":
        return np.mean(np.stack(sides), axis=0, dtype=dt)
    deltas = np.stack([s - base for s in sides])
    if strategy == "task-arithmetic":
        return base + dt.type(lam) * deltas.sum(axis=0)
    if strategy == "ties":
        for i in range(len(sides)):
            deltas[i] = trim_magnitude(deltas[i], density)
    elif strategy == "dare-ties":
        for i in range(len(sides)):
            keep = rng.random(deltas[i].size, dtype=np.float32) < density
            deltas[i] = deltas[i] * keep / dt.type(density)
    else:
        raise ValueError(f"unknown strategy {strategy}")
    return base + dt.type(lam) * ties_combine(deltas)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--strategy", required=True, choices=("average", "task-arithmetic", "ties", "dare-ties"))
    ap.add_argument("--density", type=float, default=1.0)
    ap.add_argument("--lambda", dest="lam", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("sides", nargs="+")
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for name in sorted(os.listdir(args.base)):
        dst = os.path.join(args.out, name)
        if not name.endswith(".safetensors"):
            shutil.copyfile(os.path.join(args.sides[0], name), dst)
            continue
        base = SafeTensors(os.path.join(args.base, name))
        sides = [SafeTensors(os.path.join(d, name)) for d in args.sides]
        with open(dst, "wb") as out:
            out.write(base.prefix)
            for tname, info in sorted(base.tensors.items(), key=lambda kv: kv[1]["data_offsets"][0]):
                out.seek(base.start + info["data_offsets"][0])
                if info["dtype"] not in DTYPES:
                    out.write(sides[0].raw(tname))
                    continue
                shape = info["shape"]
                b = base.array(tname) if args.strategy != "average" else None
                r = merge_tensor(args.strategy, b, [s.array(tname) for s in sides], args.density, args.lam, rng)
                out.write(np.ascontiguousarray(r, dtype=DTYPES[info["dtype"]]).reshape(shape).tobytes())
        del base, sides  # the mappings go with the last arrays that view them
    return 0


if __name__ == "__main__":
    sys.exit(main())
