#!/usr/bin/python3
"""End-to-end benchmark of coral against zstd, reference coders and cp, on generated checkpoints.

Called by benchmarks/run.sh (which builds coral and generates the data); usable on its own:

    /usr/bin/python3 benchmarks/bench.py --coral build-bench/src/cli/coral --data DIR \
        --work DIR [--reps 5] [--out docs/performance.md] [--command "..."] [--z19 first]
    /usr/bin/python3 benchmarks/bench.py --coral ... --data DIR --work DIR --sections merge \
        [--merge-reps 5] [--splice docs/performance.md]     (the merge section alone, to stdout)
    /usr/bin/python3 benchmarks/bench.py --coral ... --data DIR --work DIR --sections gc \
        [--gc-reps 3] [--splice docs/performance.md]        (the gc/prune section alone)

DIR (--data) is what `benchmarks/data/gen_checkpoints.py --sets all` writes: fp32/epoch-1..N,
bf16/epoch-1..N, finetune/ft-1..K, quantized/{int8,dequant}, metrics.jsonl (a directory with
only epoch-1..N in it is taken as the series, without the other sets).

Storage, once per set, every tool on the same files:

    zstd -3 -T1, zstd -19     each file whole (-19 with --z19-threads, on the checkpoints --z19
                              selects: by default the first of each set)
    planes + zstd -3          benchmarks/ref_coders.py: per tensor, byte planes, zstd -3 each
    XOR + planes + zstd -3    the same after XOR with the same-named tensor of the previous
                              checkpoint of the set (fine-tunes and quantized: the last FP32 epoch)
    coral                     `du -sb .coral` (all metadata counted): the FP32 series committed
                              one checkpoint after the other on main; fine-tunes and quantized
                              variants each on its own branch from the last FP32 commit
                              (`coral checkout -b ft-1 main`, files replaced, add, commit), their
                              increment measured; the BF16 series in a repository of its own

Throughput, on the FP32 series, every repetition running every tool on the same files:

    zstd -3 -T1 / zstd -d -T1 each checkpoint's files -> .zst files -> plain files
    cp -r                     each checkpoint directory -> a copy
    coral add+commit          a fresh repository; per checkpoint its files are hard-linked into
                              ckpt/ over the previous ones (same paths, new files, as a training
                              script saving in place), then `coral add ckpt`, `coral commit`
    coral checkout            the newest and the oldest commit, each into an empty ckpt/
                              (`rm -r ckpt; coral checkout -f REV`), checked byte for byte once
    coral status              twice on the unchanged tree; the second run is reported

Merge (`--merge-reps`, default 5; `--sections merge` runs this alone):

    coral merge               the last FP32 epoch committed on main, ft-1..3 each on a branch from
                              main; per repetition and strategy (average, ties, dare-ties,
                              task-arithmetic) a fresh `cp -a` of that repository and a new branch
                              from main (untimed), then `coral merge ft-1 ft-2 ft-3 --strategy S`
    ref_merge.py              benchmarks/ref_merge.py: the same merge in float32 numpy, from the
                              generated files into an empty directory; checked against coral's
                              merged working tree once per strategy

Maintenance (`--gc-reps`, default 3; `--sections gc` runs this alone):

    coral prune / gc          the FP32 series on main (one commit per epoch, `--metric val_loss`
                              from metrics.jsonl), the fine-tunes on branches; per repetition a
                              fresh `cp -a` of that repository (untimed), then `coral prune
                              --keep-last 2 --keep-best val_loss:min=1 --gc` (and the same with
                              epoch-1 tagged, so that its deltas are re-encoded), the same in steps
                              (prune, gc --dry-run, gc, gc again, fsck --full), and `gc --repack`
                              of the unpruned repository
    cp -a, cat                `cp -a` of the .coral being collected and of the result; `cat` of
                              the result's packs (the reference for `fsck --full`)

The page cache is warmed (every input file read) before the first repetition and `sync` runs
before every timed step, so no tool pays for another's dirty pages. Times are wall-clock; each
figure is the best of --reps repetitions. Peak RSS comes from /usr/bin/time -v around every
`coral add` and `coral checkout`, and from sampling /proc in an extra untimed pass.
"""

from __future__ import annotations

import argparse
import datetime
import filecmp
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

MB = 1e6
MiB = 1 << 20


class BenchError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


@dataclass
class Run:
    wall: float
    cpu: float  # user + sys of the process and its children
    maxrss_kb: int
    stdout: str
    stderr: str


def run(cmd: list[str], cwd: str | None = None, rss: bool = False) -> Run:
    """Runs cmd, timing it; raises BenchError with the command and its output on failure."""
    time_file = None
    full = list(cmd)
    if rss:
        fd, time_file = tempfile.mkstemp(prefix="bench-time.")
        os.close(fd)
        full = ["/usr/bin/time", "-v", "-o", time_file] + full
    t0 = time.perf_counter()
    proc = subprocess.Popen(full, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    rc = proc.returncode
    maxrss = 0
    if time_file:
        with open(time_file) as f:
            text = f.read()
        os.unlink(time_file)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        maxrss = int(m.group(1)) if m else 0
        cpu_m = re.search(r"User time \(seconds\): ([\d.]+)", text), re.search(r"System time \(seconds\): ([\d.]+)", text)
        cpu = float(cpu_m[0].group(1)) + float(cpu_m[1].group(1)) if all(cpu_m) else float("nan")
    else:
        cpu = float("nan")
    if rc != 0:
        raise BenchError(f"command failed (exit {rc}) in {cwd or os.getcwd()}:\n  $ {' '.join(cmd)}\n"
                         f"stdout:\n{out.decode(errors='replace')}\nstderr:\n{err.decode(errors='replace')}")
    return Run(wall, cpu, maxrss, out.decode(errors="replace"), err.decode(errors="replace"))


def run_sampled(cmd: list[str], cwd: str) -> tuple[int, int, int]:
    """Runs cmd, polling /proc/PID/status; returns the peaks of (VmRSS, RssAnon, RssFile) in bytes.
    RssFile counts pages of mmapped input files, which are page cache rather than memory the
    process allocated; RssAnon is what it allocated."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks = [0, 0, 0]
    keys = ("VmRSS:", "RssAnon:", "RssFile:")
    path = f"/proc/{proc.pid}/status"
    while proc.poll() is None:
        try:
            with open(path) as f:
                for line in f:
                    for i, k in enumerate(keys):
                        if line.startswith(k):
                            peaks[i] = max(peaks[i], int(line.split()[1]) * 1024)
        except OSError:
            pass
        time.sleep(0.002)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise BenchError(f"command failed (exit {proc.returncode}) in {cwd}:\n  $ {' '.join(cmd)}\n"
                         f"stdout:\n{out.decode(errors='replace')}\nstderr:\n{err.decode(errors='replace')}")
    return peaks[0], peaks[1], peaks[2]


class CpuClock:
    """user+sys CPU seconds of reaped children, between start() and stop()."""

    def __init__(self):
        self.total = 0.0

    def __enter__(self):
        t = os.times()
        self._start = t.children_user + t.children_system
        return self

    def __exit__(self, *exc):
        t = os.times()
        self.total += t.children_user + t.children_system - self._start


def du_sb(path: str) -> int:
    return int(subprocess.check_output(["du", "-sb", path]).split()[0])


def files_of(d: str) -> list[str]:
    return sorted(f for f in os.listdir(d) if os.path.isfile(os.path.join(d, f)))


def prewarm(paths: list[str]) -> None:
    buf = bytearray(8 * MiB)
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def largest_tensor(paths: list[str]) -> tuple[int, str, str]:
    best = (0, "", "")
    for p in paths:
        if not p.endswith(".safetensors"):
            continue
        with open(p, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
        for name, e in header.items():
            if name == "__metadata__":
                continue
            size = e["data_offsets"][1] - e["data_offsets"][0]
            if size > best[0]:
                best = (size, name, "x".join(map(str, e["shape"])) + " " + e["dtype"])
    return best


@dataclass
class Rep:
    zstd_c: list[float] = field(default_factory=list)   # per checkpoint
    zstd_c_cpu: float = 0.0
    zstd_d: list[float] = field(default_factory=list)
    zstd_d_cpu: float = 0.0
    cp: float = 0.0
    add: float = 0.0
    add_cpu: float = 0.0
    commit: float = 0.0
    add_unchanged: float = 0.0
    co_new: float = 0.0
    co_new_cpu: float = 0.0
    co_old: float = 0.0
    co_old_cpu: float = 0.0
    status1: float = 0.0
    status2: float = 0.0
    add_rss: list[int] = field(default_factory=list)
    checkout_rss: list[int] = field(default_factory=list)
    per_add: list[float] = field(default_factory=list)


def micro_section(path: str) -> str:
    """A table of coral_bench results (google-benchmark JSON; best repetition of each)."""
    rep = json.load(open(path))
    best: dict[str, dict] = {}
    for b in rep.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        name = b.get("run_name", b["name"])
        if name not in best or b["real_time"] < best[name]["real_time"]:
            best[name] = b
    lines = ["## Micro-benchmarks (`coral_bench`)", "",
             "`build-bench/benchmarks/coral_bench --benchmark_repetitions=3`, best repetition:", "",
             "| benchmark | time | throughput | notes |", "|---|---:|---:|---|"]
    for name, b in best.items():
        unit = b.get("time_unit", "ns")
        thr = ""
        if "bytes_per_second" in b:
            thr = f"{b['bytes_per_second'] / MB:,.0f} MB/s"
        elif "items_per_second" in b:
            thr = f"{b['items_per_second']:,.0f} items/s"
        notes = []
        if b.get("label"):
            notes.append(f"encoding {b['label']}")
        if "ratio" in b:
            notes.append(f"ratio {b['ratio']:.3f}")
        lines.append(f"| {name.replace('/real_time', '')} | {b['real_time']:.2f} {unit} | {thr} | {', '.join(notes)} |")
    ctx = rep.get("context", {})
    lines += ["", f"google-benchmark on {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz "
              f"(google-benchmark's own library is a {ctx.get('library_build_type', '?')} build; coral is Release).", ""]
    return "\n".join(lines)


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_coders  # noqa: E402  (benchmarks/ref_coders.py)


@dataclass
class Ckpt:
    name: str
    dir: str
    files: list[str]

    @property
    def paths(self) -> list[str]:
        return [os.path.join(self.dir, f) for f in self.files]

    @property
    def raw(self) -> int:
        return sum(os.path.getsize(p) for p in self.paths)


@dataclass
class DataSet:
    key: str
    label: str
    ckpts: list[Ckpt]
    # results
    coral: int = 0            # stored bytes (whole repo for series; increment for branches)
    coral_add: float = 0.0    # add+commit wall seconds, one run
    ref: dict = field(default_factory=dict)  # coder -> [raw, stored] over the checkpoints coded
    ref_first: dict = field(default_factory=dict)  # the same for the first checkpoint alone
    z3_time: float = 0.0      # zstd -3 -T1 wall seconds over the set, one run
    z19_which: list[str] = field(default_factory=list)

    @property
    def raw(self) -> int:
        return sum(c.raw for c in self.ckpts)


def numbered(d: str, prefix: str) -> list[str]:
    if not os.path.isdir(d):
        return []
    return sorted((x for x in os.listdir(d) if re.fullmatch(prefix + r"\d+", x)),
                  key=lambda x: int(x.rsplit("-", 1)[1]))


def load_sets(data: str) -> dict[str, DataSet]:
    def ck(d: str, name: str) -> Ckpt:
        return Ckpt(name, d, files_of(d))

    sets: dict[str, DataSet] = {}
    base = os.path.join(data, "fp32") if os.path.isdir(os.path.join(data, "fp32")) else data
    eps = numbered(base, "epoch-")
    if not eps:
        raise BenchError(f"no fp32/epoch-N (or epoch-N) directories in {data}")
    sets["fp32"] = DataSet("fp32", "FP32 series", [ck(os.path.join(base, e), e) for e in eps])
    eps = numbered(os.path.join(data, "bf16"), "epoch-")
    if eps:
        sets["bf16"] = DataSet("bf16", "BF16 series", [ck(os.path.join(data, "bf16", e), e) for e in eps])
    fts = numbered(os.path.join(data, "finetune"), "ft-")
    if fts:
        sets["finetune"] = DataSet("finetune", "fine-tunes", [ck(os.path.join(data, "finetune", f), f) for f in fts])
    for sub, label in (("int8", "int8 quantized"), ("dequant", "int8 dequantized to F32")):
        d = os.path.join(data, "quantized", sub)
        if os.path.isdir(d):
            sets[sub] = DataSet(sub, label, [ck(d, sub)])
    return sets


def place(ckpt_dir: str, c: Ckpt) -> None:
    """Puts checkpoint c into ckpt_dir over what is there (same paths, new files), as a training
    script saving into the same directory does: hard links to the generated files (already in
    the page cache), a copy when the data is on another file system."""
    os.makedirs(ckpt_dir, exist_ok=True)
    for f in os.listdir(ckpt_dir):
        os.unlink(os.path.join(ckpt_dir, f))
    for f in c.files:
        src, dst = os.path.join(c.dir, f), os.path.join(ckpt_dir, f)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def verify(ckpt_dir: str, c: Ckpt, what: str) -> None:
    got = files_of(ckpt_dir)
    if got != c.files:
        raise BenchError(f"{what}: files {got} != {c.files}")
    for f in c.files:
        if not filecmp.cmp(os.path.join(ckpt_dir, f), os.path.join(c.dir, f), shallow=False):
            raise BenchError(f"{what}: ckpt/{f} differs from {c.dir}/{f}")


def big_tensor_pass(coral: str, work: str, gib: int) -> dict:
    """Peak RSS and time of `coral add` + `commit` and of `coral checkout` for one safetensors
    file of `gib` float32 tensors of 1 GiB each (N(0, 0.02) values: this pass is about memory,
    not compression), and `zstd -3 -T1` / `zstd -d -T1` on the same file."""
    import numpy as np
    d = os.path.join(work, "repo-big")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    path = os.path.join(d, "model.safetensors")
    n = (1 << 30) // 4
    header = {f"layer.{i}.weight": {"dtype": "F32", "shape": [n], "data_offsets": [i * 4 * n, (i + 1) * 4 * n]}
              for i in range(gib)}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h)
        for _ in range(gib * 16):
            f.write((rng.standard_normal(n // 16, dtype=np.float32) * np.float32(0.02)).tobytes())
    prewarm([path])
    run([coral, "init"], cwd=d)
    add = run([coral, "add", "model.safetensors"], cwd=d, rss=True)
    run([coral, "commit", "-m", "big"], cwd=d)
    os.unlink(path)
    co = run([coral, "checkout", "-f", "HEAD"], cwd=d, rss=True)
    z = run(["zstd", "-q", "-3", "-T1", "-f", path, "-o", path + ".zst"])
    zd = run(["zstd", "-q", "-d", "-T1", "-f", path + ".zst", "-o", path + ".out"])
    size = os.path.getsize(path)
    shutil.rmtree(d, ignore_errors=True)
    return {"gib": gib, "bytes": size, "add_rss": add.maxrss_kb * 1024, "co_rss": co.maxrss_kb * 1024,
            "add_s": add.wall, "co_s": co.wall, "zstd_s": z.wall, "zstd_d_s": zd.wall}


# ---- merge: coral merge against benchmarks/ref_merge.py -----------------------------------------

MERGE_STRATEGIES: list[tuple[str, list[str]]] = [
    ("average", []),
    ("ties", ["--density", "0.3"]),
    ("dare-ties", ["--density", "0.3", "--seed", "1"]),
    ("task-arithmetic", ["--lambda", "0.7"]),
]


@dataclass
class MergeRep:
    wall: float
    cpu: float
    rss: int  # bytes


def place_copy(ckpt_dir: str, c: Ckpt) -> None:
    """As place(), but copies: the merge benchmark's checkouts must never reach the data."""
    os.makedirs(ckpt_dir, exist_ok=True)
    for f in os.listdir(ckpt_dir):
        os.unlink(os.path.join(ckpt_dir, f))
    for f in c.files:
        shutil.copyfile(os.path.join(c.dir, f), os.path.join(ckpt_dir, f))


def merge_check(coral_dir: str, np_dir: str, base: Ckpt, sides: list[Ckpt] | None = None,
                ties_density: float | None = None) -> dict:
    """Compares coral's merged checkpoint with ref_merge.py's, tensor by tensor: max |coral − numpy|,
    the count of elements differing by more than 1e-6, ‖coral − numpy‖ / ‖coral − base‖ and
    ‖numpy − base‖ / ‖coral − base‖ (the merged task vectors' norms); whether the other files agree.
    With ties_density, also TIES recomputed in numpy with coral's tie-break for equal magnitudes
    (a stable argsort, docs/merge.md "Definitions"): the count of elements then differing by > 1e-6."""
    import numpy as np
    import ref_merge  # benchmarks/ref_merge.py
    res = {"max_abs": 0.0, "over_1e6": 0, "elements": 0, "other_files_equal": True, "stable_over_1e6": 0}
    d2 = c2 = p2 = 0.0
    for f in base.files:
        a, b = os.path.join(coral_dir, f), os.path.join(np_dir, f)
        if not f.endswith(".safetensors"):
            res["other_files_equal"] &= filecmp.cmp(a, b, shallow=False)
            continue
        sc, sn, sb = (ref_merge.SafeTensors(p) for p in (a, b, os.path.join(base.dir, f)))
        for name in sb.tensors:
            x = sc.array(name).astype(np.float64)
            y = sn.array(name).astype(np.float64)
            z = sb.array(name).astype(np.float64)
            diff = np.abs(x - y)
            res["max_abs"] = max(res["max_abs"], float(diff.max()))
            res["over_1e6"] += int(np.count_nonzero(diff > 1e-6))
            res["elements"] += x.size
            d2 += float(np.dot(x - y, x - y))
            c2 += float(np.dot(x - z, x - z))
            p2 += float(np.dot(y - z, y - z))
            if ties_density is not None and sides:
                b32 = sb.array(name)
                deltas = np.stack([ref_merge.SafeTensors(os.path.join(c.dir, f)).array(name) - b32 for c in sides])
                k = int(ties_density * b32.size)
                trimmed = np.zeros_like(deltas)
                for i in range(len(sides)):
                    idx = np.argsort(-np.abs(deltas[i]), kind="stable")[:k]
                    trimmed[i][idx] = deltas[i][idx]
                r = b32 + ref_merge.ties_combine(trimmed)
                res["stable_over_1e6"] += int(np.count_nonzero(np.abs(x - r) > 1e-6))
        del sc, sn, sb
    res["rel"] = (d2 / c2) ** 0.5 if c2 > 0 else float("nan")
    res["norm_ratio"] = (p2 / c2) ** 0.5 if c2 > 0 else float("nan")
    return res


def merge_section(coral: str, sets: dict[str, DataSet], work: str, reps: int, command: str = "") -> str:
    """Times `coral merge ft-1 ft-2 ft-3 --strategy S` against benchmarks/ref_merge.py, best of
    `reps`, and returns the report's "## Merge" section (markdown)."""
    if "finetune" not in sets or len(sets["finetune"].ckpts) < 3:
        raise BenchError("the merge benchmark needs 3 fine-tunes (finetune/ft-1..3 in --data)")
    t0_all = time.time()
    base = sets["fp32"].ckpts[-1]  # the fine-tunes continue from the last FP32 epoch
    fts = sets["finetune"].ckpts[:3]
    names = [c.name for c in fts]
    ref_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref_merge.py")
    prewarm(base.paths + [p for c in fts for p in c.paths] + [coral])
    load_start = os.getloadavg()

    # The repository: the base on main, each fine-tune on its own branch from main (untimed).
    repo = os.path.join(work, "repo-merge")
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    log(f"merge: setting up {repo} ({base.name} on main, {', '.join(names)} on branches)")
    run([coral, "init"], cwd=repo)
    ckpt = os.path.join(repo, "ckpt")
    place_copy(ckpt, base)
    run([coral, "add", "ckpt"], cwd=repo)
    run([coral, "commit", "-m", base.name], cwd=repo)
    for c in fts:
        run([coral, "checkout", "-q", "-b", c.name, "main"], cwd=repo)
        place_copy(ckpt, c)
        run([coral, "add", "ckpt"], cwd=repo)
        run([coral, "commit", "-m", c.name], cwd=repo)
    run([coral, "checkout", "-q", "main"], cwd=repo)
    repo_bytes = du_sb(os.path.join(repo, ".coral"))

    copy = os.path.join(work, "merge-rep")
    np_out = os.path.join(work, "merge-np")
    coral_t: dict[str, list[MergeRep]] = {s: [] for s, _ in MERGE_STRATEGIES}
    np_t: dict[str, list[MergeRep]] = {s: [] for s, _ in MERGE_STRATEGIES}
    added: dict[str, int] = {}
    summary: dict[str, str] = {}
    checks: dict[str, dict] = {}
    for r in range(reps):
        for strat, params in MERGE_STRATEGIES:
            # coral: a fresh copy of the repository, a fresh branch from main (untimed); `status`
            # refreshes the copy's stat cache (new inodes), as it would be in the original.
            shutil.rmtree(copy, ignore_errors=True)
            subprocess.run(["cp", "-a", repo, copy], check=True)
            run([coral, "status"], cwd=copy)
            run([coral, "checkout", "-q", "-b", f"m-{strat}-{r + 1}", "main"], cwd=copy)
            before = du_sb(os.path.join(copy, ".coral"))
            os.sync()
            m = run([coral, "merge"] + names + ["--strategy", strat] + params, cwd=copy, rss=True)
            coral_t[strat].append(MergeRep(m.wall, m.cpu, m.maxrss_kb * 1024))
            added[strat] = du_sb(os.path.join(copy, ".coral")) - before
            # numpy: into an empty output directory
            shutil.rmtree(np_out, ignore_errors=True)
            os.sync()
            p = run(["/usr/bin/python3", ref_script, "--base", base.dir, "--out", np_out, "--strategy", strat]
                    + params + [c.dir for c in fts], rss=True)
            np_t[strat].append(MergeRep(p.wall, p.cpu, p.maxrss_kb * 1024))
            if r == 0:
                summary[strat] = next((l for l in m.stdout.splitlines() if l.startswith("merged")), "")
                checks[strat] = merge_check(os.path.join(copy, "ckpt"), np_out, base, fts,
                                            float(params[1]) if strat == "ties" else None)
            shutil.rmtree(copy)
            log(f"merge rep {r + 1}/{reps} {strat}: coral {m.wall:.2f} s, numpy {p.wall:.2f} s")
    shutil.rmtree(np_out, ignore_errors=True)
    shutil.rmtree(repo, ignore_errors=True)
    load_end = os.getloadavg()

    side_bytes = sum(c.raw for c in fts)
    n_tensors = sum(len(ref_coders.read_safetensors(p_)[1]) for p_ in base.paths if p_.endswith(".safetensors"))
    rows = ["| strategy | coral merge | numpy (ref_merge.py) | coral ÷ numpy | per repetition | coral CPU | "
            "numpy CPU | coral peak RSS | numpy peak RSS | stored by the merge | coral input read | "
            "check against numpy |",
            "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for strat, params in MERGE_STRATEGIES:
        cb = min(coral_t[strat], key=lambda x: x.wall)
        nb = min(np_t[strat], key=lambda x: x.wall)
        per = ", ".join(f"{c.wall / n.wall:.1f}" for c, n in zip(coral_t[strat], np_t[strat]))
        read = side_bytes + (base.raw if strat != "average" else 0)
        ck = checks[strat]
        if strat in ("average", "task-arithmetic"):
            verdict = f"max \\|Δ\\| {ck['max_abs']:.1e} (< 1e-6: {'ok' if ck['max_abs'] < 1e-6 else '**FAILED**'})"
        elif strat == "ties":
            frac = ck["over_1e6"] / ck["elements"]
            verdict = (f"{ck['over_1e6']:,} of {ck['elements']:,} elements differ by > 1e-6 ({frac:.1e}; max "
                       f"\\|Δ\\| {ck['max_abs']:.1e}): {'ok' if frac < 1e-4 else '**FAILED**'}; with coral's "
                       f"tie-break in the trim (stable argsort): {ck['stable_over_1e6']:,} differ")
        else:
            verdict = (f"other masks: ‖numpy − base‖ ÷ ‖coral − base‖ = {ck['norm_ratio']:.4f} "
                       f"({'ok' if abs(ck['norm_ratio'] - 1) < 0.01 else '**FAILED**'}), ‖coral − numpy‖ ÷ "
                       f"‖coral − base‖ = {ck['rel']:.2f}")
        if not ck["other_files_equal"]:
            verdict += "; json files differ: **FAILED**"
        label = f"`{strat}{' ' + ' '.join(params) if params else ''}`"
        rows.append(f"| {label} | {cb.wall:.2f} s | {nb.wall:.2f} s | **{cb.wall / nb.wall:.2f}×** | {per} | "
                    f"{cb.cpu:.2f} s | {nb.cpu:.2f} s | {cb.rss / MiB:.0f} MiB | {nb.rss / MiB:.0f} MiB | "
                    f"{added[strat] / MB:.1f} MB | {read / MB:.0f} MB, {read / MB / cb.wall:.0f} MB/s | {verdict} |")
    cver = run([coral, "--version"]).stdout.strip()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    git = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    import numpy as np
    lines = [
        "## Merge", "",
        f"`coral merge {' '.join(names)} --strategy S` against `benchmarks/ref_merge.py`, a numpy script "
        f"doing the same job the way a mergekit-style Python tool does, on the same files in the same run. "
        f"The repository: {base.name} ({base.raw / MB:.1f} MB, {len(base.files)} files) committed on main, each "
        f"fine-tune committed on its own branch from main ({repo_bytes / MB:.1f} MB in `.coral`). Each "
        f"repetition of each strategy merges in a fresh copy of that repository (`cp -a`, then `coral status` "
        f"and `coral checkout -q -b m-S-N main`, untimed), so every merge stores its tensors anew; then "
        f"`ref_merge.py` writes the same merge into an empty directory. Wall times are best of {reps} "
        f"(per repetition: coral ÷ numpy of that repetition); CPU is user + sys of the best repetition; peak "
        f"RSS from `/usr/bin/time -v` (both map their inputs, so mapped file pages count); *stored by the "
        f"merge* is the growth of `du -sb .coral`; *coral input read* is the bytes of the sides (and of the "
        f"base, for the strategies with task vectors) over coral's time.",
        "",
        *rows,
        "",
        f"What each time includes. coral: reading every side (and the base) from its packs, decoding and "
        f"verifying it, the arithmetic in double with the result rounded once to float32, encoding and "
        f"storing the merged tensors (the merged model is {base.raw / MB:.0f} MB before coral's compression), "
        f"writing the changed files (both shards) into the working tree and "
        f"the index, and the merge commit; it runs on {os.cpu_count()} threads (its default). numpy "
        f"(`/usr/bin/python3`, numpy {np.__version__}, one thread): starting Python and importing numpy, "
        f"reading the safetensors files through mmap and `np.frombuffer`, float32 arithmetic per tensor "
        f"(`np.argpartition` for TIES' trim, `np.random.default_rng(1)` for DARE's mask), and writing the "
        f"merged shards (the base's header byte for byte) and copies of the json files; it stores nothing "
        f"and commits nothing.",
        "",
        "coral's summary lines: " + "; ".join(f"`{summary[st]}`" for st, _ in MERGE_STRATEGIES if summary.get(st))
        + f" (the model has {n_tensors} tensors).",
        "",
        "The check compares coral's merged working tree with numpy's output, element by element, in the "
        "first repetition. They are close but not bit-identical, by design: coral computes in double and "
        "rounds once (docs/merge.md, \"Definitions\"), numpy in float32; TIES' trim breaks ties of equal "
        "magnitude by index in coral and arbitrarily in `np.argpartition` (so the check also recomputes "
        "TIES with a stable `np.argsort`, coral's tie-break, and counts the elements that still differ); "
        "DARE's mask comes from coral's own counter-based stream, so dare-ties can only be compared "
        "statistically (the norm of the merged task vector). The json files, unchanged on every side, "
        + ("are equal in every strategy's output." if all(c["other_files_equal"] for c in checks.values())
           else "**differ** (see the table)."),
        "",
        f"Measured {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on a noisy "
        f"shared VM with {os.cpu_count()} cores; load average (1 min) {load_start[0]:.2f} at "
        f"the start, {load_end[0]:.2f} at the end. {cver} (git {git}{', with local changes' if dirty else ''}). "
        f"The section took {(time.time() - t0_all) / 60:.1f} min"
        + (f"; `{command}`." if command else "."),
        "",
    ]
    return "\n".join(lines)


# ---- maintenance: coral prune / gc against cp -a and cat ------------------------------------------

GC_POLICY = ["--keep-last", "2", "--keep-best", "val_loss:min=1"]


def load_metrics(data: str) -> dict[str, float]:
    """val_loss per checkpoint name (epoch-N, ft-N) from DIR/metrics.jsonl, if there is one."""
    metrics: dict[str, float] = {}
    mpath = os.path.join(data, "metrics.jsonl")
    if os.path.exists(mpath):
        for line in open(mpath):
            rec = json.loads(line)
            if "epoch" in rec:
                metrics[f"epoch-{rec['epoch']}"] = rec["val_loss"]
            elif "finetune" in rec:
                metrics[f"ft-{rec['finetune']}"] = rec["val_loss"]
    return metrics


def machine_note(coral: str, work: str, load_start, load_end, t0: float, reps: int) -> str:
    """The closing line of a section run on its own: when, where, which coral, the load."""
    cver = run([coral, "--version"]).stdout.strip()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    git = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    fs = subprocess.run(["df", "-T", work], capture_output=True, text=True).stdout.splitlines()[-1].split()
    return (f"Measured {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on a noisy "
            f"shared VM with {os.cpu_count()} cores (every figure the best of {reps} repetitions); work directory "
            f"on `{fs[0]}` ({fs[1]}); load average (1 min) {load_start[0]:.2f} at the start, {load_end[0]:.2f} "
            f"at the end (this benchmark adds about 1). {cver} (git {git}{', with local changes' if dirty else ''}). "
            f"The section took {(time.time() - t0) / 60:.1f} min.")


@dataclass
class GcStep:
    wall: float
    cpu: float
    rss: int            # bytes
    before: int = 0     # du -sb .coral
    after: int = 0
    result: dict = field(default_factory=dict)  # coral's --json gc result (prune: its "gc" member)
    prune: dict = field(default_factory=dict)   # coral's --json prune result


def gc_section(coral: str, sets: dict[str, DataSet], data: str, work: str, reps: int, command: str = "") -> str:
    """Times `coral prune ... --gc`, `coral gc --repack`, `gc --dry-run`, a second `gc` and
    `fsck --full` on a repository of the FP32 series (and the fine-tunes on branches), against
    `cp -a` of `.coral` and `cat` of its packs; best of `reps`. Returns the report's
    "## Maintenance (gc, prune)" section (markdown)."""
    t0_all = time.time()
    series = sets["fp32"].ckpts
    n = len(series)
    if n < 4:
        raise BenchError("the gc benchmark needs at least 4 FP32 epochs (it keeps the last 2 and prunes the others)")
    fts = sets["finetune"].ckpts if "finetune" in sets else []
    metrics = load_metrics(data)
    made_up = [c.name for c in series if c.name not in metrics]
    for i, c in enumerate(series):  # made-up decreasing values where metrics.jsonl has none
        metrics.setdefault(c.name, round(10.0 - 0.1 * i, 4))
    prewarm([p for c in series + fts for p in c.paths] + [coral])
    load_start = os.getloadavg()

    # The repository (untimed): the series on main, one commit per epoch with its val_loss; each
    # fine-tune on its own branch from the last epoch.
    repo = os.path.join(work, "repo-gc")
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    log(f"gc: setting up {repo} ({n} epochs on main" + (f", {', '.join(c.name for c in fts)} on branches)" if fts else ")"))
    run([coral, "init"], cwd=repo)
    ckpt = os.path.join(repo, "ckpt")
    for c in series:
        place_copy(ckpt, c)
        run([coral, "add", "ckpt"], cwd=repo)
        run([coral, "commit", "-m", c.name, "--metric", f"val_loss={metrics[c.name]}"], cwd=repo)
    for c in fts:
        run([coral, "checkout", "-q", "-b", c.name, "main"], cwd=repo)
        place_copy(ckpt, c)
        run([coral, "add", "ckpt"], cwd=repo)
        run([coral, "commit", "-m", c.name] + (["--metric", f"val_loss={metrics[c.name]}"] if c.name in metrics else []),
            cwd=repo)
    run([coral, "checkout", "-q", "main"], cwd=repo)
    coral_dir = os.path.join(repo, ".coral")
    repo_bytes = du_sb(coral_dir)
    repo_packs = len([f for f in os.listdir(os.path.join(coral_dir, "packs")) if f.endswith(".h5")])
    repo_stats = json.loads(run([coral, "--json", "stats"], cwd=repo).stdout)
    raw_total = sum(c.raw for c in series + fts)

    copy = os.path.join(work, "gc-rep")
    cp_dst = os.path.join(work, "gc-cp")
    variants = [("policy", "policy"), ("tagged", f"policy, {series[0].name} tagged")]

    def fresh(tag: bool) -> None:
        shutil.rmtree(copy, ignore_errors=True)
        subprocess.run(["cp", "-a", repo, copy], check=True)
        if tag:
            run([coral, "tag", "baseline", f"main~{n - 1}"], cwd=copy)

    def timed_cp(src: str) -> float:
        shutil.rmtree(cp_dst, ignore_errors=True)
        os.sync()
        t = run(["cp", "-a", src, cp_dst]).wall
        shutil.rmtree(cp_dst)
        return t

    def coral_step(args: list[str], measure: bool = False) -> GcStep:
        before = du_sb(os.path.join(copy, ".coral")) if measure else 0
        os.sync()
        r_ = run([coral] + args, cwd=copy, rss=True)
        s = GcStep(r_.wall, r_.cpu, r_.maxrss_kb * 1024, before)
        if measure:
            s.after = du_sb(os.path.join(copy, ".coral"))
        if "--json" in args:
            j = json.loads(r_.stdout)
            if "branch" in j:
                s.prune, s.result = j, j.get("gc") or {}
            else:
                s.result = j
        return s

    res: dict[str, list] = {}

    def add(key: str, v) -> None:
        res.setdefault(key, []).append(v)

    decisions: dict[str, str] = {}
    result_stats: dict[str, dict] = {}
    for r in range(reps):
        for v, _ in variants:
            # 1. prune --gc in one go, on a fresh copy; cp -a of the same .coral, and of the result
            fresh(v == "tagged")
            c1 = timed_cp(coral_dir)
            s = coral_step(["--json", "prune"] + GC_POLICY + ["--gc"], measure=True)
            add(f"prune-gc-{v}", s)
            add(f"cp-{v}", min(c1, timed_cp(coral_dir)))
            add(f"cp-after-{v}", timed_cp(os.path.join(copy, ".coral")))
            if r == 0:
                p = s.prune
                decisions[v] = ", ".join(f"{c['subject']} {'kept' if c['kept'] else 'pruned'}"
                                         for c in reversed(p["commits"]))
                # the kept checkpoints read back byte-identical; a pruned one is refused (exit 3)
                for rev, c in (("main", series[-1]), (f"main~1", series[-2])) + (
                        (("baseline", series[0]),) if v == "tagged" else ()):
                    shutil.rmtree(os.path.join(copy, "ckpt"), ignore_errors=True)
                    run([coral, "checkout", "-q", "-f", rev], cwd=copy)
                    verify(os.path.join(copy, "ckpt"), c, f"gc benchmark ({v}): checkout -f {rev}")
                pruned = subprocess.run([coral, "checkout", "-q", "-f", "main~2"], cwd=copy, capture_output=True)
                if pruned.returncode != 3:
                    raise BenchError(f"gc benchmark ({v}): checkout of a pruned commit exited {pruned.returncode}, not 3")
                run([coral, "checkout", "-q", "-f", "main"], cwd=copy)
            # 2. the same in steps, on a fresh copy: prune (marks), gc --dry-run, gc, gc again, fsck
            fresh(v == "tagged")
            add(f"prune-{v}", coral_step(["--json", "prune"] + GC_POLICY))
            add(f"dry-{v}", coral_step(["--json", "gc", "--dry-run"]))
            add(f"gc-{v}", coral_step(["--json", "gc"], measure=True))
            add(f"gc2-{v}", coral_step(["--json", "gc"]))
            add(f"fsck-{v}", coral_step(["fsck", "--full"]))
            packs = [os.path.join(copy, ".coral", "packs", f) for f in os.listdir(os.path.join(copy, ".coral", "packs"))]
            os.sync()
            add(f"cat-{v}", run(["sh", "-c", 'cat "$@" > /dev/null', "sh"] + packs).wall)
            if r == 0:
                result_stats[v] = json.loads(run([coral, "--json", "stats"], cwd=copy).stdout)
        # 3. gc --repack of the unpruned repository (every pack rewritten), against cp -a
        fresh(False)
        c1 = timed_cp(coral_dir)
        add("repack", coral_step(["--json", "gc", "--repack"], measure=True))
        add("cp-repack", min(c1, timed_cp(coral_dir)))
        shutil.rmtree(copy)
        log(f"gc rep {r + 1}/{reps}: prune --gc {res['prune-gc-policy'][-1].wall:.2f} s (tagged "
            f"{res['prune-gc-tagged'][-1].wall:.2f} s), cp -a {res['cp-policy'][-1]:.2f} s; gc --repack "
            f"{res['repack'][-1].wall:.2f} s, cp -a {res['cp-repack'][-1]:.2f} s; fsck --full "
            f"{res['fsck-policy'][-1].wall:.2f} s, cat {res['cat-policy'][-1]:.2f} s")
    shutil.rmtree(repo, ignore_errors=True)
    load_end = os.getloadavg()

    def bw(key: str) -> GcStep:
        return min(res[key], key=lambda x: x.wall)

    def bt(key: str) -> float:
        return min(res[key])

    def per_rep(num: str, den: str) -> str:
        return ", ".join(f"{a.wall / b:.1f}" for a, b in zip(res[num], res[den]))

    def fmt_t(t: float) -> str:
        return f"{t:.2f} s" if t >= 0.1 else f"{t * 1000:.0f} ms"

    def mb(x: int) -> str:
        return f"{x / MB:,.1f} MB"

    policy = " ".join(GC_POLICY)
    rows = ["| step | coral | reference: `cp -a .coral` (the input) | coral ÷ cp | per repetition | "
            "`cp -a` of the result | coral ÷ that | coral CPU | peak RSS | `.coral` before → after | "
            "objects re-encoded | packs before → after |",
            "|---|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---|"]
    for key, cpk, cpa, label in (
            ("prune-gc-policy", "cp-policy", "cp-after-policy", f"`coral prune {policy} --gc`"),
            ("prune-gc-tagged", "cp-tagged", "cp-after-tagged",
             f"the same, {series[0].name} tagged `baseline` (so kept)"),
            ("repack", "cp-repack", None, "`coral gc --repack`, the unpruned repository")):
        s = bw(key)
        g = s.result
        after_cell = after_ratio = "–"
        if cpa:
            after_cell = fmt_t(bt(cpa))
            after_ratio = f"{s.wall / bt(cpa):.2f}×"
        rows.append(f"| {label} | {fmt_t(s.wall)} | {fmt_t(bt(cpk))} | **{s.wall / bt(cpk):.2f}×** | "
                    f"{per_rep(key, cpk)} | {after_cell} | {after_ratio} | {s.cpu:.2f} s | {s.rss / MiB:.0f} MiB | "
                    f"{mb(s.before)} → {mb(s.after)} | {g.get('objects_reencoded', '?')} | "
                    f"{g.get('packs_before', '?')} → {g.get('packs_after', '?')} |")

    steps = ["| step (a fresh copy, one after the other) | policy: time | CPU | peak RSS | "
             f"{series[0].name} tagged: time | CPU | peak RSS |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for key, label in (("prune", f"`coral prune {policy}` (marks only)"),
                       ("dry", "`coral gc --dry-run` (plans; re-encodes in memory)"),
                       ("gc", "`coral gc`"),
                       ("gc2", "`coral gc` again (nothing to do)"),
                       ("fsck", "`coral fsck --full` of the result")):
        cells = []
        for v, _ in variants:
            s = bw(f"{key}-{v}")
            cells.append(f"{fmt_t(s.wall)} | {s.cpu:.2f} s | {s.rss / MiB:.0f} MiB")
        steps.append(f"| {label} | " + " | ".join(cells) + " |")
    cells = [f"{fmt_t(bt(f'cat-{v}'))} | | " for v, _ in variants]
    steps.append("| reference: `cat .coral/packs/* > /dev/null` (page cache warm) | " + " | ".join(cells) + " |")
    cells = [f"**{bw(f'fsck-{v}').wall / bt(f'cat-{v}'):.0f}×** | | " for v, _ in variants]
    steps.append("| `fsck --full` ÷ `cat` | " + " | ".join(cells) + " |")
    cells = []
    for v, _ in variants:
        raw = result_stats[v]["by_encoding"]["chunks"]["raw_bytes"] if "chunks" in result_stats[v]["by_encoding"] else 0
        cells.append(f"{raw / MB / bw(f'fsck-{v}').wall:,.0f} MB/s | | ")
    steps.append("| `fsck --full`: raw bytes of the objects it decodes ÷ its time | " + " | ".join(cells) + " |")

    def depth(st: dict) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(st.get("delta_depth", {}).items(), key=lambda kv: int(kv[0])))

    g_pol = bw("gc-policy").result
    g_tag = bw("gc-tagged").result
    p_pol, p_tag, rp = bw("prune-gc-policy"), bw("prune-gc-tagged"), bw("repack")
    write_pol = bw("gc-policy").wall - bw("dry-policy").wall
    write_tag = bw("gc-tagged").wall - bw("dry-tagged").wall
    cp_rate = repo_bytes / MB / bt("cp-repack")
    n_pol, n_tag = g_pol.get("objects_reencoded", 0), g_tag.get("objects_reencoded", 0)
    fsck_p = bw("fsck-policy")
    reading = (
        f"Reading the ratios. prune + gc with the policy took {p_pol.wall / bt('cp-policy'):.1f}× the time of "
        f"`cp -a` of the whole `.coral` ({fmt_t(p_pol.wall)} against {fmt_t(bt('cp-policy'))}) and "
        f"{p_pol.wall / bt('cp-after-policy'):.1f}× a copy of just what survives; it re-encoded {n_pol} objects"
        + (" (the series stores each older epoch as a delta against the newer one, so dropping the oldest "
           "epochs leaves every kept object its base)" if n_pol == 0 else "")
        + f". Keeping {series[0].name} as well (tagged) means {n_tag} re-encodings"
        + (" (its deltas pointed at a pruned epoch)" if n_tag > n_pol else "")
        + f" and {fmt_t(p_tag.wall)}, {p_tag.wall / bt('cp-tagged'):.1f}× cp; re-encoding decodes each such "
        f"object and its new base through their chains and encodes the XOR, which is what `gc --dry-run` "
        f"does in memory ({fmt_t(bw('dry-tagged').wall)}, CPU {bw('dry-tagged').cpu:.2f} s). In steps, `gc` minus "
        f"`gc --dry-run` (which plans and re-encodes without writing) leaves {fmt_t(max(write_pol, 0))} "
        f"(policy) and {fmt_t(max(write_tag, 0))} (tagged) for writing the new packs (fsync included) and "
        f"the lookup table and deleting the old packs, against {fmt_t(bt('cp-after-policy'))} for `cp -a` of "
        f"the policy's result, which neither fsyncs nor deletes. `gc --repack` rewrote {rp.result.get('packs_before', '?')} packs into "
        f"{rp.result.get('packs_after', '?')} in {fmt_t(rp.wall)} against {fmt_t(bt('cp-repack'))} for "
        f"`cp -a` ({rp.wall / bt('cp-repack'):.1f}×; cp moves {cp_rate:,.0f} MB/s here)"
        + (f"; on this repository every pack is below half of `pack.max_bytes` (2 GiB by default), so the "
           f"plain `coral gc` of the steps above consolidates them all as well"
           if g_pol.get("packs_consolidated", 0) >= repo_packs - g_pol.get("packs_removed", 0) else "")
        + f". A second `gc` finds nothing to do and returns in {fmt_t(bw('gc2-policy').wall)}. "
        f"`fsck --full` takes {bw('fsck-policy').wall / bt('cat-policy'):.0f}× the time of reading the packs "
        f"(policy; tagged {bw('fsck-tagged').wall / bt('cat-tagged'):.0f}×): `cat` only reads the bytes, "
        f"while fsck decodes and hashes every object, each one through its own delta chain (so an object "
        f"at depth 2 costs three decodes and the bytes decoded exceed the raw bytes in the table); it "
        f"compares with a checkout of every kept commit rather than with `cat`; CPU {fsck_p.cpu:.2f} s over {fmt_t(fsck_p.wall)} of wall time (2 threads on 2 cores "
        f"shared with the other jobs of the load average above)."
    )
    lines = [
        "## Maintenance (gc, prune)", "",
        f"The repository: the FP32 series ({', '.join(c.name for c in series)}, {series[0].raw / MB:.1f} MB each) "
        f"committed on main, one commit per epoch with `--metric val_loss=…` "
        + ("(from metrics.jsonl)" if not made_up else f"(made up, decreasing, for {', '.join(made_up)})")
        + (f", and {', '.join(c.name for c in fts)} each committed on its own branch from main" if fts else "")
        + f": {raw_total / MB:,.0f} MB of checkpoints, {mb(repo_bytes)} in `.coral` ({repo_packs} packs, "
        f"{repo_stats.get('objects', '?')} objects; delta depth {depth(repo_stats)}). Every repetition of "
        f"every row starts from a fresh `cp -a` of that repository (untimed); `sync` runs before each "
        f"timed step and the page cache is warm, so writes land in the page cache (gc's own fsyncs are "
        f"inside its time, cp does none). The reference for gc is `cp -a` of the `.coral` being "
        f"collected, on the same disk, in the same repetition (right before and right after coral; the "
        f"faster of the two counts): gc is at heart a copy of the survivors "
        f"into new packs (plus the re-encoding of kept objects whose delta base goes), and `cp -a` of "
        f"the result (the survivors alone) is the lower bound. Best of {reps}; per repetition: coral ÷ cp "
        f"of that repetition; CPU is user + sys and peak RSS from `/usr/bin/time -v`; sizes are "
        f"`du -sb .coral`; the re-encoded and pack counts come from `--json`.",
        "",
        f"The policy `{policy}` on main ({series[-1].name} has the lowest val_loss, so it keeps the "
        f"last two): {decisions.get('policy', '?')}. Tagged: {decisions.get('tagged', '?')}. The fine-tune "
        f"branches' tips are not on main and stay. After the first repetition of each row the kept "
        f"checkpoints were checked out and compared byte for byte with the generated files, and a "
        f"pruned one was refused (exit 3).",
        "",
        *rows,
        "",
        "The same prune and gc in steps, on a fresh copy each repetition (the policy alone, then with "
        f"{series[0].name} tagged):",
        "",
        *steps,
        "",
        f"Delta depth of the results (`coral stats`; objects per depth): policy {depth(result_stats['policy'])}; "
        f"tagged {depth(result_stats['tagged'])}.",
        "",
        reading,
        "",
        machine_note(coral, work, load_start, load_end, t0_all, reps)
        + (f" Command: `{command}`." if command else ""),
        "",
    ]
    return "\n".join(lines)


def splice_section(path: str, section: str, title: str = "## Merge",
                   before: tuple[str, ...] = ("## Micro-benchmarks", "## Notes")) -> None:
    """Puts `section` into the report at `path`: in place of an older section with the same title,
    else before the first section whose title starts with one of `before` (tried in order), else
    at the end."""
    text = open(path).read() if os.path.exists(path) else ""
    lines = text.split("\n")
    if title in lines:
        i = lines.index(title)
        j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
        lines[i:j] = section.rstrip("\n").split("\n") + [""]
    else:
        at = len(lines)
        for b in before:
            k = next((k for k, l in enumerate(lines) if l.startswith(b)), None)
            if k is not None:
                at = k
                break
        lines[at:at] = section.rstrip("\n").split("\n") + [""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


GC_TITLE = "## Maintenance (gc, prune)"
GC_BEFORE = ("## Merge", "## Micro-benchmarks", "## Notes")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--coral", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (on the disk being measured)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--z19", choices=("first", "first-last", "all", "none"), default="first",
                    help="checkpoints of each set that zstd -19 compresses (it does ~2 MB/s)")
    ap.add_argument("--z19-threads", type=int, default=2)
    ap.add_argument("--out", help="write the report (markdown) here, e.g. docs/performance.md")
    ap.add_argument("--command", default="", help="the command line to print in the report")
    ap.add_argument("--notes", help="a markdown file appended to the report verbatim")
    ap.add_argument("--micro", help="google-benchmark JSON output of coral_bench, to include")
    ap.add_argument("--big-gib", type=int, default=4,
                    help="memory pass: a checkpoint of this many 1 GiB float32 tensors (0: skip)")
    ap.add_argument("--sections", choices=("all", "merge", "gc"), default="all",
                    help="merge (gc): only the merge (gc/prune) benchmark; its section is printed (and "
                         "written to --out alone, or spliced into --splice)")
    ap.add_argument("--merge-reps", type=int, default=5,
                    help="repetitions of each merge (0: no merge section)")
    ap.add_argument("--gc-reps", type=int, default=3,
                    help="repetitions of each gc/prune measurement (0: no maintenance section)")
    ap.add_argument("--splice", help="put the merge (gc) section into this existing report, in place of an "
                                     "older one (else before the micro-benchmarks; gc: before the merge)")
    args = ap.parse_args()

    coral = os.path.abspath(args.coral)
    data = os.path.abspath(args.data)
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    t_bench = time.time()
    sets = load_sets(data)
    if args.sections in ("merge", "gc"):
        command = args.command or " ".join(sys.argv)
        if args.sections == "merge":
            if args.merge_reps < 1:
                raise BenchError("--sections merge needs --merge-reps >= 1")
            section = merge_section(coral, sets, work, args.merge_reps, command)
            title, before = "## Merge", ("## Micro-benchmarks", "## Notes")
        else:
            if args.gc_reps < 1:
                raise BenchError("--sections gc needs --gc-reps >= 1")
            section = gc_section(coral, sets, data, work, args.gc_reps, command)
            title, before = GC_TITLE, GC_BEFORE
        print(section)
        if args.out:
            with open(args.out, "w") as f:
                f.write(section)
            log(f"wrote {args.out}")
        if args.splice:
            splice_section(args.splice, section, title, before)
            log(f"put the {args.sections} section into {args.splice}")
        log(f"done in {(time.time() - t_bench) / 60:.1f} min")
        return 0
    fp32 = sets["fp32"]
    series = fp32.ckpts
    n = len(series)
    metrics = load_metrics(data)
    all_paths = [p for s in sets.values() for c in s.ckpts for p in c.paths]
    series_paths = [p for c in series for p in c.paths]
    raw_bytes = fp32.raw
    raw_ck = [c.raw for c in series]
    big_size, big_name, big_shape = largest_tensor(series_paths)
    largest_file = max(os.path.getsize(p) for p in series_paths)
    log(f"sets: " + ", ".join(f"{s.key} ({len(s.ckpts)} x {s.ckpts[0].raw / MB:.1f} MB)" for s in sets.values())
        + f"; largest tensor {big_name} ({big_size / MiB:.1f} MiB), {args.reps} repetitions")

    load_start = os.getloadavg()
    log("warming the page cache")
    prewarm(all_paths)
    prewarm([coral, shutil.which("zstd") or "/usr/bin/zstd"])

    # The fixed part of coral's memory: peak RSS of `coral add` of one small file.
    tiny = os.path.join(work, "repo-tiny")
    shutil.rmtree(tiny, ignore_errors=True)
    os.makedirs(tiny)
    run([coral, "init"], cwd=tiny)
    small = [p for p in series[0].paths if p.endswith("config.json")] or series[0].paths[:1]
    shutil.copy(small[0], os.path.join(tiny, "small-file"))
    baseline_rss = run([coral, "add", "small-file"], cwd=tiny, rss=True).maxrss_kb * 1024
    shutil.rmtree(tiny)
    big = None
    if args.big_gib > 0:
        log(f"memory pass: {args.big_gib} x 1 GiB float32 tensors")
        big = big_tensor_pass(coral, work, args.big_gib)

    def commit_args(c: Ckpt) -> list[str]:
        msg = ["-m", c.name]
        if c.name in metrics:
            msg += ["--metric", f"val_loss={metrics[c.name]}"]
        return msg

    def add_commit(repo_dir: str, c: Ckpt) -> float:
        """Places checkpoint c in repo_dir/ckpt, then times `coral add` + `coral commit`."""
        place(os.path.join(repo_dir, "ckpt"), c)
        os.sync()
        t0 = time.perf_counter()
        run([coral, "add", "ckpt"], cwd=repo_dir)
        run([coral, "commit"] + commit_args(c), cwd=repo_dir)
        return time.perf_counter() - t0

    # ---- throughput: the FP32 series, every tool in every repetition -------------------------
    reps: list[Rep] = []
    stored_series = stored_first = 0
    status_text = ""
    repo = os.path.join(work, "repo")
    ckpt = os.path.join(repo, "ckpt")
    for r in range(args.reps):
        rep = Rep()
        # zstd -3 -T1: compress only, to .zst files; one process per checkpoint
        zdir = os.path.join(work, "zst")
        shutil.rmtree(zdir, ignore_errors=True)
        for c in series:
            os.makedirs(os.path.join(zdir, c.name))
        os.sync()
        with CpuClock() as clk:
            for c in series:
                rep.zstd_c.append(run(["zstd", "-3", "-T1", "-q", "-f", "--output-dir-flat",
                                       os.path.join(zdir, c.name)] + c.paths).wall)
        rep.zstd_c_cpu = clk.total
        # zstd -d -T1: to plain files
        ddir = os.path.join(work, "unzst")
        shutil.rmtree(ddir, ignore_errors=True)
        for c in series:
            os.makedirs(os.path.join(ddir, c.name))
        os.sync()
        with CpuClock() as clk:
            for c in series:
                rep.zstd_d.append(run(["zstd", "-d", "-T1", "-q", "-f", "--output-dir-flat",
                                       os.path.join(ddir, c.name)]
                                      + [os.path.join(zdir, c.name, f + ".zst") for f in c.files]).wall)
        rep.zstd_d_cpu = clk.total
        shutil.rmtree(ddir)
        shutil.rmtree(zdir)
        # cp -r
        cdir = os.path.join(work, "cp")
        shutil.rmtree(cdir, ignore_errors=True)
        os.makedirs(cdir)
        os.sync()
        for c in series:
            rep.cp += run(["cp", "-r", c.dir, os.path.join(cdir, c.name)]).wall
        shutil.rmtree(cdir)
        # coral add + commit, fresh repository, the checkpoints one after the other in ckpt/
        shutil.rmtree(repo, ignore_errors=True)
        os.makedirs(repo)
        run([coral, "init"], cwd=repo)
        for i, c in enumerate(series):
            place(ckpt, c)
            os.sync()
            a = run([coral, "add", "ckpt"], cwd=repo, rss=True)
            cm = run([coral, "commit"] + commit_args(c), cwd=repo)
            rep.add += a.wall
            rep.add_cpu += a.cpu
            rep.commit += cm.wall
            rep.per_add.append(a.wall + cm.wall)
            rep.add_rss.append(a.maxrss_kb)
            if i == 0:
                stored_first = du_sb(os.path.join(repo, ".coral"))
        rep.add_unchanged = run([coral, "add", "ckpt"], cwd=repo).wall
        stored_series = du_sb(os.path.join(repo, ".coral"))
        # coral checkout of the newest and of the oldest commit, each into an empty ckpt/. The
        # hard links go first, so that checkout can never write into the generated files.
        for which, rev, c in (("new", "main", series[-1]), ("old", f"main~{n - 1}", series[0])):
            shutil.rmtree(ckpt)
            os.sync()
            co = run([coral, "checkout", "-f", rev], cwd=repo, rss=True)
            setattr(rep, f"co_{which}", co.wall)
            setattr(rep, f"co_{which}_cpu", co.cpu)
            rep.checkout_rss.append(co.maxrss_kb)
            if r == 0:
                verify(ckpt, c, f"checkout -f {rev}")
        run([coral, "checkout", "main"], cwd=repo)
        # coral status on the unchanged tree, twice
        os.sync()
        rep.status1 = run([coral, "status"], cwd=repo).wall
        st = run([coral, "status"], cwd=repo)
        rep.status2 = st.wall
        status_text = st.stdout + st.stderr
        reps.append(rep)
        log(f"rep {r + 1}/{args.reps}: add+commit {rep.add + rep.commit:.2f} s, zstd -3 {sum(rep.zstd_c):.2f} s, "
            f"checkout newest {rep.co_new:.2f} s / oldest {rep.co_old:.2f} s, zstd -d of one "
            f"{rep.zstd_d[-1]:.2f} s, cp {rep.cp:.2f} s, status {rep.status2 * 1000:.1f} ms")
    fp32.coral = stored_series
    fp32.coral_add = min(x.add + x.commit for x in reps)

    # ---- storage of the other sets (one run each) --------------------------------------------
    # Fine-tunes and quantized variants: each on its own branch from the last FP32 commit of the
    # last repetition's repository, the increment of .coral measured.
    branches: list[tuple[str, Ckpt]] = []
    for key, prefix in (("finetune", ""), ("int8", "quant-"), ("dequant", "quant-")):
        if key not in sets:
            continue
        s = sets[key]
        log(f"storing {s.label} on branches")
        before = du_sb(os.path.join(repo, ".coral"))
        for c in s.ckpts:
            br = prefix + c.name
            run([coral, "checkout", "-b", br, "main"], cwd=repo)
            s.coral_add += add_commit(repo, c)
            branches.append((br, c))
        s.coral = du_sb(os.path.join(repo, ".coral")) - before
    for br, c in branches:  # every branch reads back byte-identical
        run([coral, "checkout", "-f", br], cwd=repo)
        verify(ckpt, c, f"checkout {br}")
    # The BF16 series: a repository of its own.
    bf16_first = 0
    if "bf16" in sets:
        s = sets["bf16"]
        log("storing the BF16 series")
        brepo = os.path.join(work, "repo-bf16")
        shutil.rmtree(brepo, ignore_errors=True)
        os.makedirs(brepo)
        run([coral, "init"], cwd=brepo)
        bck = os.path.join(brepo, "ckpt")
        for i, c in enumerate(s.ckpts):
            s.coral_add += add_commit(brepo, c)
            if i == 0:
                bf16_first = du_sb(os.path.join(brepo, ".coral"))
        s.coral = du_sb(os.path.join(brepo, ".coral"))
        shutil.rmtree(bck)
        run([coral, "checkout", "-f", f"main~{len(s.ckpts) - 1}"], cwd=brepo)
        verify(bck, s.ckpts[0], "bf16 checkout of the oldest")
        shutil.rmtree(brepo)

    # ---- reference coders --------------------------------------------------------------------
    tmp = os.path.join(work, "refcoders")
    os.makedirs(tmp, exist_ok=True)
    fp32_last = ref_coders.ref_index(series[-1].paths)
    z19_time = 0.0
    z19_bytes = 0
    for s in sets.values():
        log(f"reference coders on the {s.label}")
        k = len(s.ckpts)
        pick = {"first": {0}, "first-last": {0, k - 1}, "all": set(range(k)), "none": set()}[args.z19]
        prev = None
        for i, c in enumerate(s.ckpts):
            paths = c.paths
            raw = c.raw
            res = {}
            t0 = time.perf_counter()
            res["zstd -3"] = ref_coders.zstd(paths, 3, tmp, 1)
            s.z3_time += time.perf_counter() - t0
            res["planes"] = ref_coders.planes(paths, tmp, 3).stored
            if s.key in ("fp32", "bf16"):
                ref = ref_coders.ref_index(prev) if prev else None
            else:
                ref = fp32_last
            res["xor"] = ref_coders.planes(paths, tmp, 3, ref).stored if ref else res["planes"]
            if i in pick:
                t0 = time.perf_counter()
                res["zstd -19"] = ref_coders.zstd(paths, 19, tmp, args.z19_threads)
                z19_time += time.perf_counter() - t0
                z19_bytes += raw
                s.z19_which.append(c.name)
            for coder, stored in res.items():
                acc = s.ref.setdefault(coder, [0, 0])
                acc[0] += raw
                acc[1] += stored
                if i == 0:
                    s.ref_first[coder] = [raw, stored]
            prev = paths
    shutil.rmtree(tmp, ignore_errors=True)

    # ---- memory pass (untimed): peak RSS split into anonymous memory and mapped file pages ----
    log("memory pass")
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    run([coral, "init"], cwd=repo)
    anon_add = file_add = anon_co = file_co = 0
    for c in series:
        place(ckpt, c)
        _, a_anon, a_file = run_sampled([coral, "add", "ckpt"], repo)
        anon_add, file_add = max(anon_add, a_anon), max(file_add, a_file)
        run([coral, "commit", "-m", c.name], cwd=repo)
    for rev in ("main", f"main~{n - 1}"):
        shutil.rmtree(ckpt)
        _, c_anon, c_file = run_sampled([coral, "checkout", "-f", rev], repo)
        anon_co, file_co = max(anon_co, c_anon), max(file_co, c_file)
    shutil.rmtree(repo)

    # ---- merge: coral merge against a numpy reference -------------------------------------------
    merge_md = ""
    if args.merge_reps > 0 and "finetune" in sets and len(sets["finetune"].ckpts) >= 3:
        log("merge benchmark")
        merge_md = merge_section(coral, sets, work, args.merge_reps)
    gc_md = ""
    if args.gc_reps > 0:
        log("gc/prune benchmark")
        gc_md = gc_section(coral, sets, data, work, args.gc_reps, args.command)

    # ------------------------------------------------------------------------------------------
    def best(f):
        return min(f(x) for x in reps)

    b = {
        "add_commit": best(lambda x: x.add + x.commit), "add": best(lambda x: x.add),
        "commit": best(lambda x: x.commit), "zstd_c": best(lambda x: sum(x.zstd_c)),
        "cp": best(lambda x: x.cp), "co_new": best(lambda x: x.co_new), "co_old": best(lambda x: x.co_old),
        "zd_new": best(lambda x: x.zstd_d[-1]), "zd_old": best(lambda x: x.zstd_d[0]),
        "zstd_d": best(lambda x: sum(x.zstd_d)), "zc_new": best(lambda x: x.zstd_c[-1]),
        "status2": best(lambda x: x.status2), "status1": best(lambda x: x.status1),
        "add_unchanged": best(lambda x: x.add_unchanged),
    }
    cpu = {
        "add": min(reps, key=lambda x: x.add).add_cpu,
        "zstd_c": min(reps, key=lambda x: sum(x.zstd_c)).zstd_c_cpu,
        "co_new": min(reps, key=lambda x: x.co_new).co_new_cpu,
        "co_old": min(reps, key=lambda x: x.co_old).co_old_cpu,
        "zstd_d": min(reps, key=lambda x: sum(x.zstd_d)).zstd_d_cpu,
    }
    add_rss = max(max(x.add_rss) for x in reps) * 1024
    co_rss = max(max(x.checkout_rss) for x in reps) * 1024

    def fmt_t(t):
        return f"{t:.2f} s" if t >= 0.1 else f"{t * 1000:.1f} ms"

    def median(v):
        v = sorted(v)
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

    def per_rep(f):
        v = sorted(f(x) for x in reps)
        return ", ".join(f"{x:.2f}" for x in v) + f" (median {median(v):.2f})"

    r_add = b["add_commit"] / b["zstd_c"]
    r_new = b["co_new"] / b["zd_new"]
    r_old = b["co_old"] / b["zd_old"]
    r_status = b["status2"] / b["zd_new"]
    ok = lambda c: "**met**" if c else "**missed**"  # noqa: E731

    thr = ["| step | best of %d | MB/s (raw) | × zstd time, same bytes | target | notes |" % args.reps,
           "|---|---:|---:|---:|---|---|"]

    def trow(name, t, nbytes, mult="", target="", note=""):
        rate = f"{nbytes / MB / t:,.0f}" if nbytes and t > 0 else ""
        thr.append(f"| {name} | {fmt_t(t)} | {rate} | {mult} | {target} | {note} |")

    trow(f"coral add + commit, all {n} checkpoints", b["add_commit"], raw_bytes, f"{r_add:.2f}× zstd -3",
         f"≤ 0.60×: {ok(r_add <= 0.6)}", f"per repetition: {per_rep(lambda x: (x.add + x.commit) / sum(x.zstd_c))}")
    trow("  of which `coral add`", b["add"], raw_bytes, "", "", f"CPU {cpu['add']:.2f} s")
    trow("  of which `coral commit`", b["commit"], 0)
    trow(f"zstd -3 -T1, all {n} checkpoints (to .zst files)", b["zstd_c"], raw_bytes, "1.00×", "",
         f"CPU {cpu['zstd_c']:.2f} s")
    trow("coral checkout -f, newest, into an empty tree", b["co_new"], raw_ck[-1], f"{r_new:.2f}× zstd -d",
         f"≤ 1.0×: {ok(r_new <= 1.0)}", f"CPU {cpu['co_new']:.2f} s; per repetition: "
         f"{per_rep(lambda x: x.co_new / x.zstd_d[-1])}")
    trow("coral checkout -f, oldest, into an empty tree", b["co_old"], raw_ck[0], f"{r_old:.2f}× zstd -d",
         f"≤ 1.0×: {ok(r_old <= 1.0)}", f"CPU {cpu['co_old']:.2f} s; per repetition: "
         f"{per_rep(lambda x: x.co_old / x.zstd_d[0])}")
    trow("zstd -d -T1, newest checkpoint (to plain files)", b["zd_new"], raw_ck[-1], "1.00×")
    trow("zstd -d -T1, oldest checkpoint", b["zd_old"], raw_ck[0], "1.00×")
    trow(f"zstd -d -T1, all {n} checkpoints", b["zstd_d"], raw_bytes, "", "", f"CPU {cpu['zstd_d']:.2f} s")
    trow(f"cp -r, all {n} checkpoints", b["cp"], raw_bytes)
    trow("coral status, unchanged tree (2nd run)", b["status2"], 0, f"{r_status:.3f}× zstd -d (newest)", "",
         f"1st run {fmt_t(b['status1'])}")
    trow("coral add, unchanged tree", b["add_unchanged"], 0)

    per = ["| checkpoint | raw MB | coral add+commit | zstd -3 -T1 | zstd -d -T1 |", "|---|---:|---:|---:|---:|"]
    for i, c in enumerate(series):
        per.append(f"| {c.name} | {raw_ck[i] / MB:.1f} | {min(x.per_add[i] for x in reps):.2f} s | "
                   f"{min(x.zstd_c[i] for x in reps):.2f} s | {min(x.zstd_d[i] for x in reps):.2f} s |")

    # ---- storage table
    coders = [("zstd -3", "zstd -3"), ("zstd -19", "zstd -19"), ("planes", "planes + zstd -3"),
              ("xor", "XOR prev + planes + zstd -3")]
    st_rows = ["| set | raw MB | coral | " + " | ".join(c[1] for c in coders)
               + " | coral ÷ best reference | target |",
               "|---|---:|---:|" + "---:|" * len(coders) + "---:|---|"]
    verdicts: list[tuple[str, bool, str]] = []
    foot19 = False

    def srow(label, raw, stored, refs, z19_note, floor=None):
        nonlocal foot19
        cells = []
        ratios = {}
        for key, _ in coders:
            if key not in refs:
                cells.append("–")
                continue
            r_, s_ = refs[key]
            ratios[key] = r_ / s_
            mark = ""
            if key == "zstd -19" and z19_note:
                mark, foot19 = "*", True
            cells.append(f"{ratios[key]:.3f}x{mark}")
        ratio = raw / stored if stored > 0 else float("inf")
        bkey = max(ratios, key=ratios.get)
        rel = ratio / ratios[bkey]
        need = 1.01 * ratios[bkey]
        met = ratio >= need and (floor is None or ratio >= floor)
        tgt = f"≥ {need:.3f}x (best × 1.01)" + (f" and ≥ {floor:.2f}x" if floor else "") + f": {ok(met)}"
        st_rows.append(f"| {label} | {raw / MB:,.1f} | **{ratio:.3f}x** | " + " | ".join(cells)
                       + f" | {rel:.3f} ({bkey}) | {tgt} |")
        verdicts.append((label, met, f"{ratio:.3f}x vs {need:.3f}x" + (f", floor {floor:.2f}x" if floor else "")))

    def z19_partial(s: DataSet, first_only=False) -> bool:
        return (not first_only) and len(s.z19_which) < len(s.ckpts)

    srow(f"FP32, first checkpoint alone ({series[0].name})", raw_ck[0], stored_first, fp32.ref_first, False, 1.18)
    if "bf16" in sets:
        s = sets["bf16"]
        srow(f"BF16, first checkpoint alone ({s.ckpts[0].name})", s.ckpts[0].raw, bf16_first, s.ref_first,
             False, 1.45)
    srow(f"FP32 series, {n} checkpoints (repository total)", raw_bytes, stored_series, fp32.ref, z19_partial(fp32))
    if "bf16" in sets:
        s = sets["bf16"]
        srow(f"BF16 series, {len(s.ckpts)} checkpoints (own repository)", s.raw, s.coral, s.ref, z19_partial(s))
    for key, label in (("finetune", "fine-tunes {names} (increment, branches from the last FP32 commit)"),
                       ("int8", "int8 quantized: I8 + F32 scales (increment, branch)"),
                       ("dequant", "int8 dequantized to F32 (increment, branch)")):
        if key in sets:
            s = sets[key]
            srow(label.format(names=", ".join(c.name for c in s.ckpts)), s.raw, s.coral, s.ref, z19_partial(s))
    z19_desc = {"first": "the first checkpoint of each set", "first-last": "the first and last checkpoints of each set",
                "all": "every checkpoint", "none": "no checkpoint"}[args.z19]
    st_notes = [
        f"Ratio = raw bytes ÷ stored bytes. coral: `du -sb .coral`, every byte of the repository counted "
        f"(for the branches: the growth of `.coral` while they were committed). The reference "
        f"coders are `benchmarks/ref_coders.py` over the `zstd` CLI: *planes* splits every tensor into "
        f"byte planes by dtype width (F32 4, BF16 2, I8 1) and compresses each plane with `zstd -3 -T1`; "
        f"*XOR prev* first XORs each tensor with the same-named tensor (same dtype and size) of the "
        f"previous checkpoint of the set (the first checkpoint of a series: none; fine-tunes and "
        f"quantized: the last FP32 epoch, the commit their branch starts from); safetensors headers "
        f"and the small JSON files are one zstd stream each, counted.",
        "zstd -19 was not run (`--z19 none`)." if args.z19 == "none" else
        f"zstd -19 ran with `-T{args.z19_threads}` on {z19_desc} only ({z19_bytes / MB:,.0f} MB in "
        f"{z19_time:.0f} s: it does about {z19_bytes / MB / z19_time if z19_time else 0:.1f} MB/s here)"
        + ("; * marks sets where the ratio is that of those checkpoints "
           "(zstd has no context across files, so the other checkpoints of a set compress alike: "
           "compare the zstd -3 column, which covers all of them)." if foot19 else "."),
    ]
    set_thr = ["| set | coral add+commit | zstd -3 -T1 | × zstd -3 |", "|---|---:|---:|---:|"]
    fp32.z3_time = b["zstd_c"]  # the FP32 series: both best of --reps, from the timed repetitions
    for s in sets.values():
        ca = s.coral_add
        if ca > 0 and s.z3_time > 0:
            set_thr.append(f"| {s.label} | {ca:.2f} s | {s.z3_time:.2f} s | {ca / s.z3_time:.2f}× |")

    mem = [
        "| | bytes | MiB |", "|---|---:|---:|",
        f"| largest tensor: `{big_name}` ({big_shape}) | {big_size:,} | {big_size / MiB:.1f} |",
        f"| largest file | {largest_file:,} | {largest_file / MiB:.1f} |",
        f"| peak RSS, `coral add` (max over all runs) | {add_rss:,} | {add_rss / MiB:.1f} |",
        f"| peak RSS, `coral checkout` (max over all runs) | {co_rss:,} | {co_rss / MiB:.1f} |",
        f"| peak RSS, `coral add` of one small file (the fixed part) | {baseline_rss:,} | {baseline_rss / MiB:.1f} |",
        f"| add RSS − fixed part | {add_rss - baseline_rss:,} | {(add_rss - baseline_rss) / MiB:.1f} |",
        f"| `coral add`, peak anonymous memory (RssAnon, sampled) | {anon_add:,} | {anon_add / MiB:.1f} |",
        f"| `coral add`, peak mapped file pages (RssFile, sampled) | {file_add:,} | {file_add / MiB:.1f} |",
        f"| `coral checkout`, peak RssAnon / RssFile (sampled) | {anon_co:,} / {file_co:,} | "
        f"{anon_co / MiB:.1f} / {file_co / MiB:.1f} |",
    ]
    if big:
        mem += [
            f"| {big['gib']} × 1 GiB float32 tensors in one file ({big['bytes']:,} bytes): peak RSS of `coral add` "
            f"({big['add_s']:.1f} s; `zstd -3 -T1` {big['zstd_s']:.1f} s) | {big['add_rss']:,} | {big['add_rss'] / MiB:.1f} |",
            f"| the same: peak RSS of `coral checkout -f` into an empty tree ({big['co_s']:.1f} s; `zstd -d -T1` "
            f"{big['zstd_d_s']:.1f} s) | {big['co_rss']:,} | {big['co_rss'] / MiB:.1f} |",
        ]
    data_rss = add_rss - baseline_rss
    add_core = raw_bytes / MB / cpu["add"] if cpu["add"] > 0 else float("nan")
    co_core = raw_ck[-1] / MB / cpu["co_new"] if cpu["co_new"] > 0 else float("nan")

    targets = ["| target (DESIGN.md §11 and this release) | measured | met? |", "|---|---|---|"]
    for label, met, txt in verdicts:
        targets.append(f"| storage, {label}: ≥ every reference coder by ≥ 1% | {txt} | {ok(met)} |")
    targets += [
        f"| add+commit ≤ 0.6 × `zstd -3 -T1` time (FP32 series) | {r_add:.2f}× | {ok(r_add <= 0.6)} |",
        f"| checkout of the newest ≤ 1.0 × `zstd -d -T1` time | {r_new:.2f}× | {ok(r_new <= 1.0)} |",
        f"| checkout of the oldest ≤ 1.0 × `zstd -d -T1` time | {r_old:.2f}× | {ok(r_old <= 1.0)} |",
        f"| add ≥ 500 MB/s per core (raw MB per CPU second) | {add_core:,.0f} MB/s | {ok(add_core >= 500)} |",
        f"| checkout decode ≥ 1,500 MB/s per core | {co_core:,.0f} MB/s | {ok(co_core >= 1500)} |",
    ]
    if big:
        targets += [
            f"| peak RSS of `coral add` < 512 MiB, {big['gib']} × 1 GiB tensors | {big['add_rss'] / MiB:.0f} MiB | "
            f"{ok(big['add_rss'] < 512 * MiB)} |",
            f"| peak RSS of `coral checkout` < 512 MiB, {big['gib']} × 1 GiB tensors | {big['co_rss'] / MiB:.0f} MiB | "
            f"{ok(big['co_rss'] < 512 * MiB)} |",
        ]

    reading = [
        f"- **add**: coral add+commit took {b['add_commit']:.2f} s against {b['zstd_c']:.2f} s for "
        f"`zstd -3 -T1` (best of each). coral ran with its default thread count ({os.cpu_count()}) and zstd "
        f"with one; `coral add` kept {cpu['add'] / b['add']:.2f} cores busy on average (CPU {cpu['add']:.2f} s "
        f"over {b['add']:.2f} s), {add_core:,.0f} MB per CPU second (zstd -3: "
        f"{raw_bytes / MB / cpu['zstd_c']:,.0f} MB/s).",
        f"- **checkout** into an empty tree: newest {b['co_new']:.2f} s, oldest {b['co_old']:.2f} s, against "
        f"{b['zd_new']:.2f} s / {b['zd_old']:.2f} s for `zstd -d -T1` of the same checkpoint's .zst files; "
        f"{co_core:,.0f} MB of the newest per CPU second (zstd -d: "
        f"{raw_bytes / MB / cpu['zstd_d']:,.0f} MB/s).",
        f"- **memory**: peak RSS of add {add_rss / MiB:.0f} MiB; adding one small file takes "
        f"{baseline_rss / MiB:.0f} MiB (the fixed part), so the data-dependent part is {data_rss / MiB:.0f} MiB "
        f"(largest tensor {big_size / MiB:.0f} MiB; big tensors are encoded in 4 MiB chunks, so this "
        f"does not grow with tensor size). Sampling /proc splits the peak into "
        f"{anon_add / MiB:.0f} MiB anonymous and {file_add / MiB:.0f} MiB of mapped file pages (page cache, "
        f"counted in RSS). checkout peaked at {co_rss / MiB:.0f} MiB RSS ({anon_co / MiB:.0f} MiB anonymous)."
        + (f" With {big['gib']} × 1 GiB tensors: add {big['add_rss'] / MiB:.0f} MiB, checkout "
           f"{big['co_rss'] / MiB:.0f} MiB." if big else ""),
        f"- **status** on the unchanged tree: {b['status2'] * 1000:.1f} ms (second run); "
        f"re-adding the unchanged tree: {b['add_unchanged'] * 1000:.1f} ms.",
    ]

    load_end = os.getloadavg()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem_total = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    zver = subprocess.run(["zstd", "--version"], capture_output=True, text=True).stdout.strip()
    cver = run([coral, "--version"]).stdout.strip()
    fs = subprocess.run(["df", "-T", work], capture_output=True, text=True).stdout.splitlines()[-1].split()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    git = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    gen_cfg = json.load(open(os.path.join(series[0].dir, "config.json")))
    manifest = {}
    if os.path.exists(os.path.join(data, "manifest.json")):
        manifest = json.load(open(os.path.join(data, "manifest.json")))
    gen_args = manifest.get("args", {})
    set_lines = []
    for s in sets.values():
        set_lines.append(f"- {s.label}: {', '.join(c.name for c in s.ckpts)}; {len(s.ckpts[0].files)} files, "
                         f"{s.ckpts[0].raw / MB:.1f} MB per checkpoint, {s.raw / MB:,.1f} MB in all")
    gen_time = f" Generating them took {manifest['seconds']:.0f} s." if "seconds" in manifest else ""
    quant = manifest.get("quantized", {})
    quant_txt = ""
    if quant:
        quant_txt = (f" Quantization: symmetric int8 per {'row (output channel)' if quant.get('granularity') == 'channel' else 'tensor'} "
                     f"of every 2-D weight, scales as F32 `<name>_scale` tensors, LayerNorm gains and biases "
                     f"kept in F32; the dequantized copy has {quant['distinct_values_per_2d_tensor'][0]:,}–"
                     f"{quant['distinct_values_per_2d_tensor'][1]:,} distinct values per 2-D tensor "
                     f"(at most 255 per row).")

    doc = f"""# Performance

Measured by `benchmarks/run.sh` ({now}; the benchmark itself took {(time.time() - t_bench) / 60:.1f} min).
The numbers below come from one run; rerun the command to refresh this file (it is generated,
apart from any notes appended at the end).

## Machine

- CPU: {cpu_model}, `nproc` = {os.cpu_count()}
- RAM: {mem_total / 1024 / 1024:.1f} GiB
- Disk: `{fs[0]}` ({fs[1]}), the work directory and the data are on it
- Kernel {platform.release()}; {zver.replace('*', '').strip()}; {cver} (git {git}{', with local changes' if dirty else ''})
- The VM is shared and noisy (TOOLCHAIN.md: runs differ by up to 1.5x): every throughput figure is
  the best of {args.reps} repetitions, and every tool runs in the same repetition on the same files.
  Load average (1 min, 5 min) when the measurements started: {load_start[0]:.2f}, {load_start[1]:.2f};
  at the end: {load_end[0]:.2f}, {load_end[1]:.2f} (this benchmark adds about 1; more means other
  jobs shared the {os.cpu_count()} cores).

## Command

```
{args.command or ' '.join(sys.argv)}
```

## Data

Written by `benchmarks/data/gen_checkpoints.py --sets all` \
({', '.join(f'--{k.replace("_", "-")} {v}' for k, v in gen_args.items() if k in ('epochs', 'size_mb', 'seed', 'finetunes', 'ft_steps', 'quant'))}): \
a GPT-NeoX-style model (hidden {gen_cfg.get('hidden_size')}, {gen_cfg.get('num_hidden_layers')} layers, \
vocab {gen_cfg.get('vocab_size')}) really trained with AdamW between saves, so every weight changes a \
little from one checkpoint to the next; BF16 files are round-to-nearest casts of the FP32 master weights; \
the fine-tunes continue from the last epoch (weights and optimizer state) on other synthetic tasks \
(another Markov chain each; ft-1 at half the LR, ft-2 at a quarter, ft-3 at half with the \
embeddings frozen).{quant_txt} Every checkpoint is in the Hugging Face layout (safetensors shards, index, \
config, tokenizer).{gen_time}

{chr(10).join(set_lines)}

## Storage

{chr(10).join(st_rows)}

{(chr(10) * 2).join(st_notes)}

## Throughput (FP32 series)

Times of `coral add`+`commit` and of zstd are sums over the {n} checkpoints; checkout and
`zstd -d` are of one checkpoint (the newest or the oldest). MB/s is raw MB (10^6 bytes) over that
time. coral runs with its default thread count ({os.cpu_count()}); zstd with `-T1`. The page cache
is warm and `sync` runs before each timed step: writes land in the page cache and are not flushed
to disk inside the timings (coral's own fsyncs, if any, are inside).

{chr(10).join(thr)}

Per checkpoint (best of {args.reps}):

{chr(10).join(per)}

Every set: add+commit of the set as stored above against `zstd -3 -T1` of the same files (the FP32
series: best of {args.reps}, as above; the other sets: one run each, so read them as ±30%):

{chr(10).join(set_thr)}

## Memory

{chr(10).join(mem)}

`coral status` output on the unchanged tree:

```
{status_text.strip()}
```

## Targets

{chr(10).join(targets)}

{chr(10).join(reading)}
"""
    if gc_md:
        doc += "\n" + gc_md
    if merge_md:
        doc += "\n" + merge_md
    if args.micro and os.path.exists(args.micro):
        doc += "\n" + micro_section(args.micro)
    if args.notes and os.path.exists(args.notes):
        doc += "\n" + open(args.notes).read()
    print("\n".join(st_rows))
    print()
    print("\n".join(st_notes))
    print()
    print("\n".join(thr))
    print()
    print("\n".join(set_thr))
    print()
    print("\n".join(mem))
    print()
    print("\n".join(targets))
    if gc_md:
        print()
        print(gc_md)
    if merge_md:
        print()
        print(merge_md)
    if args.out:
        with open(args.out, "w") as f:
            f.write(doc)
        log(f"wrote {args.out}")
    log(f"done in {(time.time() - t_bench) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        sys.exit(1)
