#!/usr/bin/python3
"""Decodes one data object of a coral repository, written from docs/format.md alone.

usage: decode_object.py REPO_DIR OBJECT_ID

REPO_DIR is the directory that holds .coral (or .coral itself), OBJECT_ID the object's 32 hex
digits. Reads the pack files .coral/packs/pack-*.h5 with h5py, decodes the object's stored bytes
(encodings 0 raw, 1 zstd, 2 chunks with chunk kinds 0-5, delta bases followed recursively) and
writes its raw bytes to stdout. Kind 5 (scaled integers) follows what coral writes while its
documentation is being finalised. One line on stderr says what was decoded, for tests:

    encoding=2 raw_size=N stored=N base=<hex or -> kinds=2,3 planes=0,3 depth=D

(kinds: the chunk kinds of this object's chunks; planes: the plane record tags of those chunks;
depth: delta steps to a self-contained object). The object id is the XXH3-128 of the output;
Python has no XXH3 in the standard library, so this script does not check it (the C++ test
compares the output with what coral reads).

Needs numpy, h5py and the `zstd` command line program (for zstd frames). Exits 1 when the object
is not stored, 2 when the repository is damaged or uses something this decoder does not know.
"""
import glob
import os
import struct
import subprocess
import sys

import h5py
import numpy as np

MAX_CHAIN = 64  # a reader follows at most 63 base links (64 objects in a chain)


class Corrupt(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Pack files ("Pack files" in docs/format.md)

class Store:
    def __init__(self, repo):
        coral = repo if os.path.basename(os.path.normpath(repo)) == ".coral" else os.path.join(repo, ".coral")
        self.rows = {}  # id bytes -> (pack path, row)
        # Every pack is scanned; an id may be in two packs (a superseded record): both records
        # decode to the same bytes, the first one found is used.
        for path in sorted(glob.glob(os.path.join(coral, "packs", "pack-*.h5"))):
            with h5py.File(path, "r") as f:
                if f.attrs.get("coral_pack_version") != 1:
                    raise Corrupt("%s is not a version-1 coral pack" % path)
                index = f["index"][:]
            for row in index:
                self.rows.setdefault(row["id"].tobytes(), (path, row))

    def find(self, oid):
        return self.rows.get(oid)

    def stored_bytes(self, path, row):
        start, length = int(row["offset"]), int(row["length"])
        with h5py.File(path, "r") as f:
            data = f["data"]
            if start + length > data.shape[0]:
                raise Corrupt("row lies outside /data")
            return data[start:start + length].tobytes()


# ---------------------------------------------------------------------------------------------
# Small readers

class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def remaining(self):
        return len(self.data) - self.pos

    def u8(self):
        if self.pos >= len(self.data):
            raise Corrupt("truncated")
        v = self.data[self.pos]
        self.pos += 1
        return v

    def take(self, n):
        if n > self.remaining():
            raise Corrupt("truncated")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def varint(self):  # LEB128: 7 bits a byte, low group first, at most 10 bytes
        v, shift = 0, 0
        while shift < 64:
            b = self.u8()
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7
        raise Corrupt("overlong varint")


def zstd_decode(frame, size):
    run = subprocess.run(["zstd", "-d", "-c", "-q"], input=frame, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if run.returncode != 0:
        raise Corrupt("zstd frame does not decode: " + run.stderr.decode(errors="replace").strip())
    if len(run.stdout) != size:
        raise Corrupt("zstd frame decodes to %d bytes, expected %d" % (len(run.stdout), size))
    return run.stdout


# ---------------------------------------------------------------------------------------------
# rANS ("The rANS payload")

def rans_decode(payload, n):
    r = Reader(payload)
    m = r.u8() + 1
    if m <= 31:
        symbols = list(r.take(m))
        if any(a >= b for a, b in zip(symbols, symbols[1:])):
            raise Corrupt("rANS symbols not ascending")
    else:
        bitmap = r.take(32)
        symbols = [s for s in range(256) if (bitmap[s // 8] >> (s % 8)) & 1]
        if len(symbols) != m:
            raise Corrupt("rANS bitmap does not match m")
    freq = {}
    total = 0
    for s in symbols[:-1]:
        f = r.varint() + 1
        total += f
        if total >= 4096:
            raise Corrupt("rANS frequencies exceed 4096")
        freq[s] = f
    freq[symbols[-1]] = 4096 - total
    states = list(struct.unpack("<8I", r.take(32)))
    if any(x < 1 << 15 or x >= 1 << 31 for x in states):
        raise Corrupt("rANS state out of range")
    counts = [r.varint() for _ in range(7)]
    rest = r.take(r.remaining())
    if len(rest) % 2:
        raise Corrupt("rANS word streams have an odd length")
    words = np.frombuffer(rest, dtype="<u2").tolist()
    if sum(counts) > len(words):
        raise Corrupt("rANS word streams run past the payload")
    # stream j: counts[j] words (stream 7: the rest); state j reads its stream from the last word
    streams, at = [], 0
    for c in counts + [len(words) - sum(counts)]:
        streams.append(words[at:at + c])
        at += c

    if m == 1:  # frequency 4096: decoding never changes a state
        out = bytes([symbols[0]]) * n
    else:
        # slot -> symbol, and per symbol its cumulative frequency
        slot_symbol = [0] * 4096
        cum = {}
        c = 0
        for s in symbols:
            cum[s] = c
            for k in range(freq[s]):
                slot_symbol[c + k] = s
            c += freq[s]
        f_of = [freq.get(s, 0) for s in range(256)]
        c_of = [cum.get(s, 0) for s in range(256)]
        out = bytearray(n)
        x = states
        for i in range(n):
            j = i & 7
            v = x[j]
            slot = v & 4095
            s = slot_symbol[slot]
            out[i] = s
            v = f_of[s] * (v >> 12) + slot - c_of[s]
            if v < 1 << 15:
                if not streams[j]:
                    raise Corrupt("rANS word stream is truncated")
                v = (v << 16) | streams[j].pop()
            x[j] = v
        states = x
        out = bytes(out)
    if any(streams):
        raise Corrupt("rANS word stream has words left over")
    if any(x != 1 << 15 for x in states):
        raise Corrupt("rANS stream does not end in its initial states")
    return out


# ---------------------------------------------------------------------------------------------
# Chunked objects ("Chunked objects (encoding 2)")

PLANE_NAMES = {0: "raw", 1: "constant", 2: "zstd", 3: "rans"}


def read_plane(r, n, seen):
    tag = r.u8()
    length = r.varint()
    payload = r.take(length)
    seen.add(tag)
    if tag == 0:
        if length != n:
            raise Corrupt("raw plane has the wrong length")
        return payload
    if tag == 1:
        if length != 1:
            raise Corrupt("constant plane has the wrong length")
        return payload * n
    if tag == 2:
        return zstd_decode(payload, n)
    if tag == 3:
        return rans_decode(payload, n)
    raise Corrupt("unknown plane tag %d" % tag)


def read_planes(r, size, w, seen):
    n, t = size // w, size % w
    planes = [read_plane(r, n, seen) for _ in range(w)]
    tail = r.take(t)
    # plane p holds byte p of every element: interleave them back
    grid = np.frombuffer(b"".join(planes), dtype=np.uint8).reshape(w, n)
    return grid.T.tobytes() + tail


def decode_chunk(stored, size, w, base_chunk, kinds, seen):
    if not stored:
        raise Corrupt("empty chunk")
    kind = stored[0]
    kinds.add(kind)
    r = Reader(stored, 1)
    if kind == 0:
        if r.remaining() != size:
            raise Corrupt("raw chunk has the wrong length")
        return stored[1:]
    if kind == 1:
        return zstd_decode(stored[1:], size)
    if kind == 2:
        out = read_planes(r, size, w, seen)
    elif kind == 3:
        delta = read_planes(r, size, w, seen)
        base = base_chunk()
        out = (np.frombuffer(delta, np.uint8) ^ np.frombuffer(base, np.uint8)).tobytes()
    elif kind == 4:
        if w == 1:
            raise Corrupt("dictionary chunk with 1-byte elements")
        n, t = size // w, size % w
        k = r.u8() + 1
        table = np.frombuffer(r.take(k * w), dtype=np.uint8).reshape(k, w)
        index = np.frombuffer(read_plane(r, n, seen), dtype=np.uint8)
        if n and int(index.max()) >= k:
            raise Corrupt("dictionary index out of range")
        out = table[index].tobytes() + r.take(t)
    elif kind == 5:
        # Provisional: docs/format.md "kind 5: scaled integers" is being finalised; this follows
        # the layout coral writes now. u8 log2 B | 4 plane records of the m = ceil(n / B) float32
        # block scales | one plane record of the n int8 q bytes | tail;
        # element i = float32(q[i]) * scale[i >> log2 B] (one float32 multiply).
        if w != 4:
            raise Corrupt("scaled integer chunk with %d-byte elements" % w)
        n, t = size // 4, size % 4
        log2b = r.u8()
        if not 5 <= log2b <= 13:
            raise Corrupt("scaled integer blocks of 2^%d" % log2b)
        m = (n + (1 << log2b) - 1) >> log2b
        planes = [read_plane(r, m, seen) for _ in range(4)]
        scales = np.frombuffer(b"".join(planes), np.uint8).reshape(4, m).T.copy().view("<f4").reshape(m)
        q = np.frombuffer(read_plane(r, n, seen), np.int8)
        values = q.astype(np.float32) * scales[np.arange(n) >> log2b]
        out = values.astype("<f4").tobytes() + r.take(t)
    else:
        raise Corrupt("unknown chunk kind %d (written by a newer coral?)" % kind)
    if r.remaining():
        raise Corrupt("chunk has bytes after its end")
    return out


class Decoder:
    def __init__(self, store):
        self.store = store
        self.kinds, self.planes = set(), set()

    def decode(self, oid, level=0, stats=True):
        """Raw bytes of the object and its delta depth."""
        found = self.store.find(oid)
        if found is None:
            if level == 0:
                raise KeyError(oid.hex())
            raise Corrupt("delta base %s is missing" % oid.hex())
        path, row = found
        data = self.store.stored_bytes(path, row)
        raw_size, encoding = int(row["raw_size"]), int(row["encoding"])
        base_id = row["base"].tobytes()
        if encoding == 0:
            if len(data) != raw_size:
                raise Corrupt("raw object has the wrong size")
            return data, 0
        if encoding == 1:
            return zstd_decode(data, raw_size), 0
        if encoding != 2:
            raise Corrupt("unknown encoding %d: a newer coral may be needed" % encoding)

        if len(data) < 4:
            raise Corrupt("chunked object too short")
        version, w, log2, _flags = data[0], data[1], data[2], data[3]
        # flags: bit 0 = a base was offered, bits 1-7 = chain height (neither matters for decoding)
        if version != 1 or w not in (1, 2, 4, 8) or not 10 <= log2 <= 30:
            raise Corrupt("bad chunked prefix %s" % data[:4].hex())
        grid = 1 << log2
        count = (raw_size + grid - 1) // grid
        if 4 * count > len(data) - 4:
            raise Corrupt("chunk table does not fit")
        sizes = struct.unpack("<%dI" % count, data[len(data) - 4 * count:])
        if 4 + sum(sizes) != len(data) - 4 * count:
            raise Corrupt("chunk sizes do not add up")

        base = {}  # decoded lazily: only chunks of kind 3 need it
        depth = [0]

        def base_bytes():
            if "bytes" not in base:
                if base_id == bytes(16):
                    raise Corrupt("a chunk needs a base and the object has none")
                if level + 1 >= MAX_CHAIN:
                    raise Corrupt("delta chain longer than %d" % MAX_CHAIN)
                b, d = self.decode(base_id, level + 1, stats=False)
                if len(b) != raw_size:
                    raise Corrupt("delta base has a different size")
                base["bytes"], depth[0] = b, d + 1
            return base["bytes"]

        kinds, seen = set(), set()
        out = []
        at = 4
        for i in range(count):
            chunk = data[at:at + sizes[i]]
            at += sizes[i]
            size = min(grid, raw_size - i * grid)
            out.append(decode_chunk(chunk, size, w, lambda i=i, size=size: base_bytes()[i * grid:i * grid + size],
                                    kinds, seen))
        if stats:
            self.kinds, self.planes = kinds, seen
        if base_id != bytes(16) and "bytes" not in base:
            base_bytes()  # depth counts the chain even when no chunk read the base
        return b"".join(out), depth[0]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: decode_object.py REPO_DIR OBJECT_ID")
    repo, oid = sys.argv[1], bytes.fromhex(sys.argv[2])
    try:
        store = Store(repo)
        found = store.find(oid)
        if found is None:
            print("object %s is not stored" % oid.hex(), file=sys.stderr)
            sys.exit(1)
        row = found[1]
        decoder = Decoder(store)
        raw, depth = decoder.decode(oid)
    except Corrupt as e:
        print("corrupt: %s" % e, file=sys.stderr)
        sys.exit(2)
    base = row["base"].tobytes()
    print("encoding=%d raw_size=%d stored=%d base=%s kinds=%s planes=%s depth=%d" % (
        row["encoding"], row["raw_size"], row["length"], base.hex() if base != bytes(16) else "-",
        ",".join(str(k) for k in sorted(decoder.kinds)) or "-",
        ",".join(str(p) for p in sorted(decoder.planes)) or "-", depth), file=sys.stderr)
    sys.stdout.buffer.write(raw)


if __name__ == "__main__":
    main()
