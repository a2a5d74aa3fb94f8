#!/usr/bin/python3
"""Reads one object from a coral pack file with h5py alone, as docs/format.md describes.

usage: read_object_h5py.py PACK ID

PACK is a .coral/packs/pack-<hex>.h5 file, ID the object's 32 hex digits. Prints the object's
stored (encoded) bytes as hex on one line; for encoding 0 (raw) those are the object's bytes.
Exits 1 when the id is not in the pack, 2 when the pack is not a version-1 coral pack.
"""
import sys

import h5py


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: read_object_h5py.py PACK ID")
    pack, want = sys.argv[1], bytes.fromhex(sys.argv[2])
    with h5py.File(pack, "r") as f:
        if f.attrs.get("coral_pack_version") != 1:
            print("not a version-1 coral pack", file=sys.stderr)
            sys.exit(2)
        index = f["index"][:]  # structured array: id, offset, length, raw_size, encoding, base
        lo, hi = 0, len(index)  # binary search: rows are sorted by id
        while lo < hi:
            mid = (lo + hi) // 2
            if index["id"][mid].tobytes() < want:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(index) or index["id"][lo].tobytes() != want:
            print("object %s not in %s" % (want.hex(), pack), file=sys.stderr)
            sys.exit(1)
        row = index[lo]
        start, length = int(row["offset"]), int(row["length"])
        data = f["data"][start:start + length].tobytes()
        print("encoding=%d raw_size=%d base=%s" % (row["encoding"], row["raw_size"], row["base"].tobytes().hex()),
              file=sys.stderr)
        print(data.hex())


if __name__ == "__main__":
    main()
