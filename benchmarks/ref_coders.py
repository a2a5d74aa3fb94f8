#!/usr/bin/python3
"""Reference coders for benchmarks/bench.py: what a standalone tool could store a checkpoint in.

Every coder compresses with the `zstd` command-line tool (the same binary the benchmark times),
so that its figures are comparable with `zstd -3` on whole files. Sizes count everything a
decoder would need apart from the coder itself: for safetensors files the 8-byte length and the
JSON header are one zstd stream of their own; files that are not safetensors (config.json,
tokenizer.json, the index) are one zstd stream each, whole.

    zstd(files, level, threads)         zstd -LEVEL -T<threads> of each file, whole
    planes(files, level)                per tensor: the tensor's bytes split into byte planes by
                                        the dtype's width (F32: 4 planes, byte 0 of every element,
                                        then byte 1, ...; BF16: 2; I8: 1), each plane one
                                        `zstd -LEVEL -T1` stream
    xor_planes(files, ref, level)       as planes, but each tensor is first XORed with the tensor
                                        of the same name, dtype and size in the reference
                                        checkpoint `ref` (a list of files); tensors without such
                                        a twin are coded as in planes

Usable on its own, e.g.

    /usr/bin/python3 benchmarks/ref_coders.py DIR/fp32/epoch-2 [--ref DIR/fp32/epoch-1]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

# bytes per element of the safetensors dtypes
DTYPE_WIDTH = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}


@dataclass
class Tensor:
    name: str
    dtype: str
    begin: int  # absolute file offset
    nbytes: int


def read_safetensors(path: str) -> tuple[int, list[Tensor]] | None:
    """(data start, tensors in file order) of a safetensors file, None if it is not one."""
    if not path.endswith(".safetensors"):
        return None
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            return None
        n = int.from_bytes(head, "little")
        if n <= 0 or 8 + n > size:
            return None
        try:
            header = json.loads(f.read(n))
        except ValueError:
            return None
    start = 8 + n
    tensors = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        tensors.append(Tensor(name, e["dtype"], start + b, end - b))
    tensors.sort(key=lambda t: t.begin)
    return start, tensors


class ZstdBatch:
    """Collects byte strings as temp files, then compresses them all with one zstd process and
    returns the total compressed size (zstd frames as the CLI writes them)."""

    def __init__(self, tmp: str, level: int, threads: int = 1):
        self.dir = tempfile.mkdtemp(prefix="refcoder.", dir=tmp)
        self.level, self.threads = level, threads
        self.inputs: list[str] = []
        self.raw = 0

    def add(self, buf) -> None:
        mv = memoryview(buf).cast("B")
        if mv.nbytes == 0:
            return
        path = os.path.join(self.dir, f"s{len(self.inputs):06d}")
        with open(path, "wb") as f:
            f.write(mv)
        self.inputs.append(path)
        self.raw += mv.nbytes

    def add_file(self, path: str) -> None:
        link = os.path.join(self.dir, f"s{len(self.inputs):06d}")
        try:
            os.link(path, link)
        except OSError:
            shutil.copyfile(path, link)
        self.inputs.append(link)
        self.raw += os.path.getsize(path)

    def run(self) -> int:
        try:
            if not self.inputs:
                return 0
            out = os.path.join(self.dir, "out")
            os.makedirs(out)
            for i in range(0, len(self.inputs), 500):  # keep the command line short
                subprocess.run(["zstd", f"-{self.level}", f"-T{self.threads}", "-q", "-f",
                                "--output-dir-flat", out] + self.inputs[i:i + 500], check=True)
            return sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def zstd(files: list[str], level: int, tmp: str, threads: int = 1) -> int:
    """zstd -LEVEL of each file, whole: the sum of the .zst sizes."""
    z = ZstdBatch(tmp, level, threads)
    for p in files:
        z.add_file(p)
    return z.run()


def ref_index(files: list[str]) -> dict[str, tuple[str, Tensor]]:
    """tensor name -> (file, tensor) over a checkpoint's safetensors files."""
    idx = {}
    for p in files:
        st = read_safetensors(p)
        if st:
            for t in st[1]:
                idx[t.name] = (p, t)
    return idx


@dataclass
class Stats:
    raw: int = 0          # bytes in
    stored: int = 0       # bytes out
    tensors: int = 0
    xored: int = 0        # tensors XORed with a twin in the reference
    xored_bytes: int = 0


def planes(files: list[str], tmp: str, level: int = 3,
           ref: dict[str, tuple[str, Tensor]] | None = None) -> Stats:
    """Byte planes + zstd per tensor, optionally XORed with the same-named tensor of ref."""
    s = Stats()
    for p in files:
        size = os.path.getsize(p)
        s.raw += size
        z = ZstdBatch(tmp, level)
        st = read_safetensors(p)
        if st is None:
            z.add_file(p)
            s.stored += z.run()
            continue
        start, tensors = st
        mm = np.memmap(p, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
        z.add(mm[:start])  # length + JSON header
        covered = start
        for t in tensors:
            data = mm[t.begin:t.begin + t.nbytes]
            covered += t.nbytes
            s.tensors += 1
            twin = ref.get(t.name) if ref else None
            if twin and twin[1].dtype == t.dtype and twin[1].nbytes == t.nbytes:
                rm = np.memmap(twin[0], dtype=np.uint8, mode="r", offset=twin[1].begin, shape=(t.nbytes,))
                data = np.bitwise_xor(data, rm)
                del rm
                s.xored += 1
                s.xored_bytes += t.nbytes
            w = DTYPE_WIDTH.get(t.dtype, 1)
            if w == 1 or t.nbytes % w:
                z.add(np.ascontiguousarray(data))
            else:
                v = data.reshape(-1, w)
                for b in range(w):
                    z.add(np.ascontiguousarray(v[:, b]))
        if covered != size:  # bytes no tensor claims (padding, trailing data): one more stream
            z.add(np.ascontiguousarray(mm[covered:]) if covered < size else b"")
        del mm
        s.stored += z.run()
    return s


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser(description="reference coders on one checkpoint directory")
    ap.add_argument("dir")
    ap.add_argument("--ref", help="reference checkpoint directory for the XOR coder")
    ap.add_argument("--level", type=int, default=3)
    args = ap.parse_args()
    files = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir)
                   if os.path.isfile(os.path.join(args.dir, f)))
    tmp = tempfile.gettempdir()
    raw = sum(os.path.getsize(f) for f in files)
    z = zstd(files, args.level, tmp)
    pl = planes(files, tmp, args.level)
    print(f"raw {raw:,}  zstd -{args.level} {raw / z:.4f}x  planes {raw / pl.stored:.4f}x")
    if args.ref:
        rf = sorted(os.path.join(args.ref, f) for f in os.listdir(args.ref))
        x = planes(files, tmp, args.level, ref_index(rf))
        print(f"xor+planes {raw / x.stored:.4f}x ({x.xored}/{x.tensors} tensors XORed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
