#!/usr/bin/python3
"""End-to-end benchmark of coral against zstd and cp on one generated series of checkpoints.

Called by benchmarks/run.sh (which builds coral and generates the data); usable on its own:

    /usr/bin/python3 benchmarks/bench.py --coral build-bench/src/cli/coral --data DIR \
        --work DIR [--reps 3] [--out docs/performance.md] [--command "..."]

DIR (--data) holds epoch-1 ... epoch-N (as benchmarks/data/gen_checkpoints.py writes them) and
metrics.jsonl. Every repetition runs every tool, side by side, on the same files:

    zstd -3 -T1       each checkpoint's files -> .zst files              (compress only)
    zstd -d -T1       those .zst files -> plain files
    cp -r             each checkpoint directory -> a copy
    coral add+commit  a fresh repository; per checkpoint, its files are hard-linked into ckpt/
                      (the very same files zstd read, already in the page cache), then
                      `coral add ckpt` and `coral commit -m "epoch K" --metric val_loss=X`
    coral add         once more on the unchanged tree
    coral checkout    every commit in turn (main~(N-1) ... main~1, main) in that repository,
                      each time from a clean working tree
    coral status      twice on the unchanged tree; the second run is reported

The page cache is warmed (every input file read) before the first repetition and `sync` runs
before every timed step, so no tool pays for another's dirty pages. Times are wall-clock; each
figure is the best of --reps repetitions of the whole step (sums over the checkpoints). Peak RSS
comes from /usr/bin/time -v around every `coral add` and `coral checkout`.
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
    zstd_c: float = 0.0
    zstd_c_cpu: float = 0.0
    zstd_d: float = 0.0
    zstd_d_cpu: float = 0.0
    cp: float = 0.0
    add: float = 0.0
    add_cpu: float = 0.0
    commit: float = 0.0
    add_unchanged: float = 0.0
    checkout: float = 0.0
    checkout_cpu: float = 0.0
    status1: float = 0.0
    status2: float = 0.0
    add_rss: list[int] = field(default_factory=list)
    checkout_rss: list[int] = field(default_factory=list)
    per_add: list[float] = field(default_factory=list)
    per_checkout: list[float] = field(default_factory=list)


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--coral", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (on the disk being measured)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", help="write the report (markdown) here, e.g. docs/performance.md")
    ap.add_argument("--command", default="", help="the command line to print in the report")
    ap.add_argument("--notes", help="a markdown file appended to the report verbatim")
    ap.add_argument("--micro", help="google-benchmark JSON output of coral_bench, to include")
    args = ap.parse_args()

    coral = os.path.abspath(args.coral)
    data = os.path.abspath(args.data)
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    epochs = sorted((d for d in os.listdir(data) if re.fullmatch(r"epoch-\d+", d)),
                    key=lambda d: int(d.split("-")[1]))
    if not epochs:
        raise BenchError(f"no epoch-N directories in {data}")
    n = len(epochs)
    metrics = {}
    mpath = os.path.join(data, "metrics.jsonl")
    if os.path.exists(mpath):
        for line in open(mpath):
            rec = json.loads(line)
            metrics[f"epoch-{rec['epoch']}"] = rec["val_loss"]
    files = {e: files_of(os.path.join(data, e)) for e in epochs}
    all_paths = [os.path.join(data, e, f) for e in epochs for f in files[e]]
    raw_bytes = sum(os.path.getsize(p) for p in all_paths)
    raw_first = sum(os.path.getsize(os.path.join(data, epochs[0], f)) for f in files[epochs[0]])
    big_size, big_name, big_shape = largest_tensor(all_paths)
    largest_file = max(os.path.getsize(p) for p in all_paths)
    log(f"{n} checkpoints, {raw_bytes / MB:.1f} MB raw, largest tensor {big_name} "
        f"({big_size / MiB:.1f} MiB), {args.reps} repetitions")

    load_start = os.getloadavg()
    log("warming the page cache")
    prewarm(all_paths)
    prewarm([coral, shutil.which("zstd") or "/usr/bin/zstd"])

    # The fixed part of coral's memory: peak RSS of `coral add` of one small file.
    tiny = os.path.join(work, "repo-tiny")
    shutil.rmtree(tiny, ignore_errors=True)
    os.makedirs(tiny)
    run([coral, "init"], cwd=tiny)
    shutil.copy(os.path.join(data, epochs[0], "config.json") if "config.json" in files[epochs[0]]
                else all_paths[0], os.path.join(tiny, "small-file"))
    baseline_rss = run([coral, "add", "small-file"], cwd=tiny, rss=True).maxrss_kb * 1024
    shutil.rmtree(tiny)

    reps: list[Rep] = []
    zstd_bytes = zstd_first = stored_bytes = stored_first = 0
    status_text = ""
    verified = False
    for r in range(args.reps):
        rep = Rep()
        # ---- zstd -3 -T1: compress only, to .zst files
        zdir = os.path.join(work, "zst")
        shutil.rmtree(zdir, ignore_errors=True)
        for e in epochs:
            os.makedirs(os.path.join(zdir, e))
        os.sync()
        with CpuClock() as clk:
            for e in epochs:
                rep.zstd_c += run(["zstd", "-3", "-T1", "-q", "-f", "--output-dir-flat",
                                   os.path.join(zdir, e)] + [os.path.join(data, e, f) for f in files[e]]).wall
        rep.zstd_c_cpu = clk.total
        zsizes = {e: sum(os.path.getsize(os.path.join(zdir, e, f + ".zst")) for f in files[e]) for e in epochs}
        zstd_bytes, zstd_first = sum(zsizes.values()), zsizes[epochs[0]]
        # ---- zstd -d -T1: to plain files
        ddir = os.path.join(work, "unzst")
        shutil.rmtree(ddir, ignore_errors=True)
        for e in epochs:
            os.makedirs(os.path.join(ddir, e))
        os.sync()
        with CpuClock() as clk:
            for e in epochs:
                rep.zstd_d += run(["zstd", "-d", "-T1", "-q", "-f", "--output-dir-flat", os.path.join(ddir, e)]
                                  + [os.path.join(zdir, e, f + ".zst") for f in files[e]]).wall
        rep.zstd_d_cpu = clk.total
        shutil.rmtree(ddir)
        # ---- cp -r
        cdir = os.path.join(work, "cp")
        shutil.rmtree(cdir, ignore_errors=True)
        os.makedirs(cdir)
        os.sync()
        for e in epochs:
            rep.cp += run(["cp", "-r", os.path.join(data, e), os.path.join(cdir, e)]).wall
        shutil.rmtree(cdir)
        # ---- coral add + commit, fresh repository
        repo = os.path.join(work, "repo")
        shutil.rmtree(repo, ignore_errors=True)
        os.makedirs(repo)
        run([coral, "init"], cwd=repo)
        ckpt = os.path.join(repo, "ckpt")
        os.makedirs(ckpt)
        for i, e in enumerate(epochs):
            for f in os.listdir(ckpt):
                os.unlink(os.path.join(ckpt, f))
            for f in files[e]:
                os.link(os.path.join(data, e, f), os.path.join(ckpt, f))
            os.sync()
            a = run([coral, "add", "ckpt"], cwd=repo, rss=True)
            msg = ["-m", f"epoch {e.split('-')[1]}"]
            if e in metrics:
                msg += ["--metric", f"val_loss={metrics[e]}"]
            c = run([coral, "commit"] + msg, cwd=repo)
            rep.add += a.wall
            rep.add_cpu += a.cpu
            rep.commit += c.wall
            rep.per_add.append(a.wall + c.wall)
            rep.add_rss.append(a.maxrss_kb)
            if i == 0:
                stored_first = du_sb(os.path.join(repo, ".coral"))
        rep.add_unchanged = run([coral, "add", "ckpt"], cwd=repo).wall
        stored_bytes = du_sb(os.path.join(repo, ".coral"))
        # ---- coral checkout of every commit, from a clean tree. The hard links go first, so
        # that checkout can never write into the generated files.
        shutil.rmtree(ckpt)
        run([coral, "checkout", "--force", "HEAD"], cwd=repo)
        revs = [f"main~{k}" for k in range(n - 1, 0, -1)] + ["main"]
        for rev, e in zip(revs, epochs):
            os.sync()
            co = run([coral, "checkout", rev], cwd=repo, rss=True)
            rep.checkout += co.wall
            rep.checkout_cpu += co.cpu
            rep.per_checkout.append(co.wall)
            rep.checkout_rss.append(co.maxrss_kb)
            if not verified:  # first repetition: byte-identical, same file names
                got = files_of(ckpt)
                if got != files[e]:
                    raise BenchError(f"checkout {rev}: files {got} != {files[e]}")
                for f in files[e]:
                    if not filecmp.cmp(os.path.join(ckpt, f), os.path.join(data, e, f), shallow=False):
                        raise BenchError(f"checkout {rev}: ckpt/{f} differs from {e}/{f}")
        verified = True
        # ---- coral status on the unchanged tree, twice
        os.sync()
        rep.status1 = run([coral, "status"], cwd=repo).wall
        st = run([coral, "status"], cwd=repo)
        rep.status2 = st.wall
        status_text = st.stdout + st.stderr
        reps.append(rep)
        log(f"rep {r + 1}/{args.reps}: add+commit {rep.add + rep.commit:.2f} s, zstd -3 {rep.zstd_c:.2f} s, "
            f"checkout {rep.checkout:.2f} s, zstd -d {rep.zstd_d:.2f} s, cp {rep.cp:.2f} s, "
            f"status {rep.status2 * 1000:.1f} ms")
    shutil.rmtree(os.path.join(work, "zst"), ignore_errors=True)

    # Memory pass (untimed): the same adds and checkouts, sampling /proc/PID/status to split the
    # peak RSS into anonymous memory and mapped file pages.
    log("memory pass")
    repo = os.path.join(work, "repo")
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    run([coral, "init"], cwd=repo)
    ckpt = os.path.join(repo, "ckpt")
    os.makedirs(ckpt)
    anon_add = file_add = anon_co = file_co = 0
    for e in epochs:
        for f in os.listdir(ckpt):
            os.unlink(os.path.join(ckpt, f))
        for f in files[e]:
            os.link(os.path.join(data, e, f), os.path.join(ckpt, f))
        _, a_anon, a_file = run_sampled([coral, "add", "ckpt"], repo)
        anon_add, file_add = max(anon_add, a_anon), max(file_add, a_file)
        run([coral, "commit", "-m", e], cwd=repo)
    shutil.rmtree(ckpt)
    run([coral, "checkout", "--force", "HEAD"], cwd=repo)
    for rev in [f"main~{k}" for k in range(n - 1, 0, -1)] + ["main"]:
        _, c_anon, c_file = run_sampled([coral, "checkout", rev], repo)
        anon_co, file_co = max(anon_co, c_anon), max(file_co, c_file)
    shutil.rmtree(repo)

    # ---------------------------------------------------------------------------------------
    def best(attr):
        return min(getattr(x, attr) for x in reps)

    add_commit = min(x.add + x.commit for x in reps)
    b = {
        "add_commit": add_commit, "add": best("add"), "commit": best("commit"),
        "zstd_c": best("zstd_c"), "cp": best("cp"), "checkout": best("checkout"),
        "zstd_d": best("zstd_d"), "status2": best("status2"), "status1": best("status1"),
        "add_unchanged": best("add_unchanged"),
    }
    # CPU seconds of the repetition with the best wall time of that step
    cpu = {
        "add": min(reps, key=lambda x: x.add).add_cpu,
        "zstd_c": min(reps, key=lambda x: x.zstd_c).zstd_c_cpu,
        "checkout": min(reps, key=lambda x: x.checkout).checkout_cpu,
        "zstd_d": min(reps, key=lambda x: x.zstd_d).zstd_d_cpu,
    }
    add_rss = max(max(x.add_rss) for x in reps) * 1024
    co_rss = max(max(x.checkout_rss) for x in reps) * 1024

    def mbps(t):
        return raw_bytes / MB / t if t > 0 else float("inf")

    def fmt_t(t):
        return f"{t:.2f} s" if t >= 0.1 else f"{t * 1000:.1f} ms"

    r_add = b["add_commit"] / b["zstd_c"]
    r_co = b["checkout"] / b["zstd_d"]
    # The same ratios within each repetition (the tools ran seconds apart, under the same load).
    rr_add = sorted((x.add + x.commit) / x.zstd_c for x in reps)
    rr_co = sorted(x.checkout / x.zstd_d for x in reps)

    def median(v):
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

    def ratios(v):
        return ", ".join(f"{x:.2f}" for x in v) + f" (median {median(v):.2f})"

    rows = [
        ("coral add + commit (sum over the checkpoints)", b["add_commit"], f"{r_add:.2f}x zstd -3 time"),
        ("  of which `coral add`", b["add"], f"CPU {cpu['add']:.2f} s"),
        ("  of which `coral commit`", b["commit"], ""),
        ("zstd -3 -T1 (compress to .zst files)", b["zstd_c"], f"CPU {cpu['zstd_c']:.2f} s"),
        ("cp -r", b["cp"], ""),
        ("coral checkout (each commit in turn, sum)", b["checkout"],
         f"{r_co:.2f}x zstd -d time; CPU {cpu['checkout']:.2f} s"),
        ("zstd -d -T1 (to plain files)", b["zstd_d"], f"CPU {cpu['zstd_d']:.2f} s"),
        ("coral status, unchanged tree (2nd run)", b["status2"], f"1st run {fmt_t(b['status1'])}"),
        ("coral add, unchanged tree", b["add_unchanged"], ""),
    ]
    table = ["| step | best of %d | MB/s (raw) | notes |" % args.reps, "|---|---:|---:|---|"]
    for name, t, note in rows:
        rate = "" if "unchanged" in name else f"{mbps(t):,.0f}"
        table.append(f"| {name} | {fmt_t(t)} | {rate} | {note} |")
    per = ["| checkpoint | raw MB | coral add+commit (s) | coral checkout (s) |", "|---|---:|---:|---:|"]
    for i, e in enumerate(epochs):
        rb = sum(os.path.getsize(os.path.join(data, e, f)) for f in files[e])
        per.append(f"| {e} | {rb / MB:.1f} | {min(x.per_add[i] for x in reps):.2f} | "
                   f"{min(x.per_checkout[i] for x in reps):.2f} |")
    sizes = [
        "| | bytes | ratio raw/stored |", "|---|---:|---:|",
        f"| raw, all {n} checkpoints | {raw_bytes:,} | 1.000 |",
        f"| coral (`du -sb .coral`) | {stored_bytes:,} | {raw_bytes / stored_bytes:.3f} |",
        f"| zstd -3 (sum of .zst files) | {zstd_bytes:,} | {raw_bytes / zstd_bytes:.3f} |",
        f"| raw, first checkpoint only | {raw_first:,} | 1.000 |",
        f"| coral after the first commit | {stored_first:,} | {raw_first / stored_first:.3f} |",
        f"| zstd -3, first checkpoint | {zstd_first:,} | {raw_first / zstd_first:.3f} |",
    ]
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
    data_rss = add_rss - baseline_rss

    # ---- reading against the targets (DESIGN.md §11 and this release)
    def verdict(ratio):
        return "meets it" if ratio <= 1.0 else f"misses it: {ratio:.2f}x the time, {100 * (ratio - 1):.0f}% slower"

    add_core = raw_bytes / MB / cpu["add"] if cpu["add"] > 0 else float("nan")
    reading = [
        f"- **add no slower than `zstd -3 -T1`**: coral add+commit took {b['add_commit']:.2f} s against "
        f"{b['zstd_c']:.2f} s for zstd (best of each), so coral {verdict(r_add)}. Within each repetition "
        f"the ratio was {ratios(rr_add)}. coral ran with its default thread "
        f"count ({os.cpu_count()} threads) and zstd with one, yet `coral add` kept only "
        f"{cpu['add'] / b['add']:.2f} cores busy on average (CPU {cpu['add']:.2f} s over {b['add']:.2f} s). Per CPU "
        f"second (user+sys) `coral add` did {add_core:,.0f} MB/s (target ≥ 500 MB/s per core; zstd -3: "
        f"{raw_bytes / MB / cpu['zstd_c']:,.0f} MB/s).",
        f"- **checkout no slower than `zstd -d`**: {b['checkout']:.2f} s against {b['zstd_d']:.2f} s, "
        f"so coral {verdict(r_co)}. Within each repetition: {ratios(rr_co)}. checkout kept "
        f"{cpu['checkout'] / b['checkout']:.2f} cores busy on average and decoded "
        f"{raw_bytes / MB / cpu['checkout']:,.0f} MB per CPU second (target ≥ 1,500 MB/s per core; zstd -d: "
        f"{raw_bytes / MB / cpu['zstd_d']:,.0f} MB/s).",
        f"- **peak RSS of add ≤ about 2 × largest tensor + a fixed budget**: {add_rss / MiB:.0f} MiB. "
        f"Adding one small file takes {baseline_rss / MiB:.0f} MiB (the fixed part), so the data-dependent "
        f"part is {data_rss / MiB:.0f} MiB against 2 × the largest tensor = {2 * big_size / MiB:.0f} MiB "
        f"({'within' if data_rss <= 2 * big_size else 'over'} the bound"
        + (f", by {data_rss / (2 * big_size):.1f}x" if data_rss > 2 * big_size else "")
        + f"). The largest file is {largest_file / MiB:.0f} MiB. Sampling /proc splits the peak into "
        f"{anon_add / MiB:.0f} MiB of anonymous memory (allocated by coral; 2 × largest tensor + fixed part = "
        f"{(2 * big_size + baseline_rss) / MiB:.0f} MiB, so "
        f"{'within' if anon_add <= 2 * big_size + baseline_rss else 'over'} the bound on that measure) and "
        f"{file_add / MiB:.0f} MiB of mapped file pages (the input files mmapped: page cache, reclaimable, "
        f"but counted in RSS"
        + ("; here about a whole file" if file_add >= 0.9 * largest_file else "")
        + f"). checkout peaked at {co_rss / MiB:.0f} MiB RSS ({anon_co / MiB:.0f} MiB anonymous).",
        f"- **storage**: coral stores the series at {raw_bytes / stored_bytes:.3f}x raw, zstd -3 at "
        f"{raw_bytes / zstd_bytes:.3f}x (target: better than every standalone coder on a series; "
        f"{'met' if stored_bytes < zstd_bytes else 'not met'}). The first checkpoint alone: "
        f"{raw_first / stored_first:.3f}x (target ≥ 1.18x for FP32; zstd -3 {raw_first / zstd_first:.3f}x).",
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
    gen_cfg = json.load(open(os.path.join(data, epochs[0], "config.json")))

    doc = f"""# Performance

Measured by `benchmarks/run.sh` ({now}). The numbers below come from one run; rerun the
command to refresh this file (it is generated, apart from any notes appended at the end).

## Machine

- CPU: {cpu_model}, `nproc` = {os.cpu_count()}
- RAM: {mem_total / 1024 / 1024:.1f} GiB
- Disk: `{fs[0]}` ({fs[1]}), the work directory and the data are on it
- Kernel {platform.release()}; {zver.replace('*', '').strip()}; {cver} (git {git}{', with local changes' if dirty else ''})
- The VM is shared and noisy (TOOLCHAIN.md: runs differ by up to 1.5x): every figure is the best
  of {args.reps} repetitions, and every tool runs in the same repetition on the same files.
  Load average (1 min, 5 min) when the measurements started: {load_start[0]:.2f}, {load_start[1]:.2f};
  at the end: {load_end[0]:.2f}, {load_end[1]:.2f} (this benchmark adds about 1; more means other
  jobs shared the {os.cpu_count()} cores).

## Command

```
{args.command or ' '.join(sys.argv)}
```

## Data

{n} checkpoints of a GPT-NeoX-style model written by `benchmarks/data/gen_checkpoints.py` \
(hidden {gen_cfg.get('hidden_size')}, {gen_cfg.get('num_hidden_layers')} layers, vocab {gen_cfg.get('vocab_size')}, \
{gen_cfg.get('torch_dtype')}), really trained with AdamW between saves, so every weight changes a \
little from one checkpoint to the next. Each checkpoint is {len(files[epochs[0]])} files in the Hugging Face \
layout (safetensors shards, index, config, tokenizer): {raw_bytes / n / MB:.1f} MB per checkpoint, \
{raw_bytes / MB:.1f} MB in all.

## Results

Times are sums over the {n} checkpoints; MB/s is raw MB (10^6 bytes) over that time. coral runs
with its default thread count ({os.cpu_count()}); zstd with `-T1`. The page cache is warm and
`sync` runs before each timed step: writes land in the page cache and are not flushed to disk
inside the timings (coral's own fsyncs, if any, are inside).

{chr(10).join(table)}

Per checkpoint (best of {args.reps}):

{chr(10).join(per)}

### Storage

{chr(10).join(sizes)}

### Memory

{chr(10).join(mem)}

`coral status` output on the unchanged tree:

```
{status_text.strip()}
```

## Reading against the targets of this release

{chr(10).join(reading)}
"""
    if args.micro and os.path.exists(args.micro):
        doc += "\n" + micro_section(args.micro)
    if args.notes and os.path.exists(args.notes):
        doc += "\n" + open(args.notes).read()
    print("\n".join(table))
    print()
    print("\n".join(sizes))
    print()
    print("\n".join(mem))
    print()
    print("\n".join(reading))
    if args.out:
        with open(args.out, "w") as f:
            f.write(doc)
        log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        sys.exit(1)
