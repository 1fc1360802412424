#!/usr/bin/env python3
"""Where a dsbuild build's CPU time goes, by kind of work.

Reads sampled call stacks on stdin, either `perf script -F period,ip,sym,dso`
(kernel time included) or `go tool pprof -traces BINARY PROFILE` (Go code
only), and prints each kind's share of the CPU time.

Each sample goes to one kind: its stack is read from the innermost frame
outwards and the first frame that a rule below names decides. So the hashing
inside a store write counts as hashing, the zeroing of a fresh image buffer
as allocation, the page faults of a JPEG decoder's writes as JPEG decoding.
Frames no rule names (the standard library, the kernel) go to the first
named frame above them; the catch-alls (FALLBACK: "transform: other" and the
like) apply only to stacks that no rule names. A stack that names nothing
counts as "runtime: scheduler and other" when it has a runtime frame, else
as "other". Allocation is also split by the code that allocated.

pprof profiles put many samples in runtime.asyncPreempt (a third of them in
dsbuild's builds, where perf sees almost none: a profiling artefact of the
preemption signal); they are counted with the function it interrupted.

Usage: perf script -F period,ip,sym,dso -i perf.data | cpushare.py
       go tool pprof -traces dsbuild cpu.prof | cpushare.py
"""
import re
import sys

ALLOC = "allocation: malloc, zeroing fresh memory (and its page faults)"
# (kind, pattern on the function name), checked in this order for each frame.
RULES = [
    ("GC: marking, sweeping, write barriers",
     r"^runtime\.(gcBgMarkWorker|gcAssistAlloc|gcDrain|gcMark|gcStart|gcSweep|bgsweep|sweepone|"
     r"markroot|scanobject|scanObject|scanblock|scanstack|greyobject|wbBufFlush|gcWriteBarrier|"
     r"gcResetMarkState|forEachP)"),
    (ALLOC,
     r"^runtime\.(mallocgc|newobject|makeslice|growslice|rawbyteslice|rawstring|concatstring|"
     r"\(\*mheap\)\.alloc|\(\*mcache\)|\(\*mcentral\))"),
    ("runtime: returning freed memory to the OS (madvise, TLB shootdowns)",
     r"^runtime\.(madvise|sysUnused|sysFree|sysHugePage|munmap|bgscavenge|\(\*scavenger|"
     r"\(\*pageAlloc\)\.scavenge|\(\*mheap\))"),
    ("hashing (SHA-256)", r"^(crypto/sha256\.|crypto/internal/fips140/sha256\.|dsbuild/cache\.Sum$)"),
    ("store: zstd compressibility test of each blob",
     r"^(dsbuild/cache\.compressible$|github\.com/klauspost/compress/(zstd|fse|huff0)\.)"),
    ("JPEG decoding", r"^(dsbuild/dataset/jpeg\.|image/jpeg\.)"),
    ("PNG encoding of the crops", r"^dsbuild/steps/transform\.encodePNG$"),
    ("annotation encoding (JSON, mask PNGs)", r"^dsbuild/dataset\.EncodeAnnotation$"),
    ("annotation parsing (JSON, mask PNGs)",
     r"^(dsbuild/dataset\.ParseAnnotation$|dsbuild/dataset/supervisely\.\(\*Importer\)\.parse$)"),
    ("import: image checks (JPEG header and structure)", r"^dsbuild/steps/imports\.(checkImage|clip)$"),
    ("store reads (blobs, memo entries, existence checks)",
     r"^dsbuild/cache\.\(\*Store\)\.(ReadBlob|Open|Get|get|Has|Stat|stat)"),
    ("import: walking the source directory (stat cache)",
     r"^dsbuild/(cache\.(walkDir|\(\*StatCache\)|\(\*Store\)\.OpenStatCache)|steps/files\.HashDir)"),
    ("store writes (blob files, renames)",
     r"^dsbuild/cache\.(writeFileAtomic|\(\*Store\)\.(Put|put|cloneFile|reflink|hashFiles|Ingest))"),
    ("pixel ops: crop, resize, flip (image and masks)",
     r"^dsbuild/steps/transform\.(geo|flip|\(\*resizeOp\)|\(\*instancesCropOp\)|resize|crop|"
     r"\(\*Item\)\.(Pixels|EditPixels|SetPixels|Clone))"),
    ("item memo (lookups, records)",
     r"^dsbuild/steps/(transform\.recall$|imports\.(recallItem|rememberItem|itemKey)$)"),
]
# Catch-alls, used only when no frame of the stack matches a rule above.
FALLBACK = [
    ("import: other (reading, checks, report)", r"^dsbuild/(steps/imports|dataset/supervisely)\."),
    ("transform: other (item loop, memo records)", r"^dsbuild/steps/transform\."),
    ("dataset: other", r"^dsbuild/dataset\."),
    ("engine, CLI, recipe", r"^(dsbuild/|main\.|github\.com/(spf13|hashicorp|zclconf)/)"),
]
# A kind split by where it was called from: (kind, pattern on any frame
# outside the deciding one, the kind it becomes).
CONTEXT = [
    ("annotation parsing (JSON, mask PNGs)", r"^dsbuild/steps/imports\.", "annotation parsing (JSON, mask PNGs): import"),
    ("annotation parsing (JSON, mask PNGs)", r"^dsbuild/steps/transform\.",
     "annotation parsing (JSON, mask PNGs): transform"),
    ("annotation encoding (JSON, mask PNGs)", r"^dsbuild/steps/imports\.", "annotation encoding (JSON, mask PNGs): import"),
    ("annotation encoding (JSON, mask PNGs)", r"^dsbuild/steps/transform\.",
     "annotation encoding (JSON, mask PNGs): transform"),
    ("JPEG decoding", r"^dsbuild/steps/imports\.", "import: image checks (JPEG header and structure)"),
    ("store writes (blob files, renames)", r"^dsbuild/cache\.\(\*Store\)\.(cloneFile|hashFiles)",
     "store writes: copying the source files in"),
]
COMPILED = [(kind, re.compile(p)) for kind, p in RULES]
FALLBACK_COMPILED = [(kind, re.compile(p)) for kind, p in FALLBACK]
CONTEXT_COMPILED = [(kind, re.compile(p), new) for kind, p, new in CONTEXT]
RUNTIME = "runtime: scheduler and other"
OTHER = "other (kernel or unnamed frames only)"
PREEMPT = "runtime.asyncPreempt"


def match(frames, rules):
    for i, f in enumerate(frames):
        for kind, rx in rules:
            if rx.search(f):
                for k, crx, new in CONTEXT_COMPILED:
                    if k == kind and any(crx.search(g) for g in frames[i + 1 :]):
                        return new
                return kind
    return None


def kind_of(frames, rules=COMPILED):
    """frames: function names, innermost first."""
    k = match(frames, rules) or match(frames, FALLBACK_COMPILED)
    if k:
        return k
    for f in frames:
        if f.startswith("runtime.") or f.startswith("internal/runtime/"):
            return RUNTIME
    return OTHER


def perf_samples(lines):
    period, frames = None, []
    for line in lines:
        if not line.strip():
            if period is not None:
                yield period, frames
            period, frames = None, []
            continue
        if period is None:
            head = line.split()
            period = int(head[-1]) if head and head[-1].isdigit() else 1
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        sym = re.sub(r"\s+\([^()]*\)$", "", parts[1].strip())  # the (dso)
        sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
        frames.append(sym)
    if period is not None:
        yield period, frames


UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "hrs": 3600.0}


def pprof_samples(lines):
    value, frames = None, []
    for line in lines:
        if line.startswith("-----------+"):
            if value is not None:
                yield value, frames
            value, frames = None, []
            continue
        m = re.match(r"^\s+([0-9.]+)(ns|us|µs|ms|s|min|hrs)\s+(\S.*)$", line)
        if m and value is None and not frames:
            value = float(m.group(1)) * UNITS[m.group(2)]
            frames.append(m.group(3))
        elif value is not None and line.strip():
            frames.append(line.strip())
    if value is not None:
        yield value, frames


def main():
    lines = sys.stdin.read().splitlines()
    is_pprof = any(l.startswith("-----------+") for l in lines[:50])
    samples = pprof_samples(lines) if is_pprof else perf_samples(lines)
    owners = [(k, rx) for k, rx in COMPILED if not k.startswith(("GC", "allocation", "runtime"))]
    total, preempt, by, alloc_by = 0.0, 0.0, {}, {}
    for value, frames in samples:
        frames = [re.sub(r"\s+\(inline\)$", "", f) for f in frames]
        total += value
        if frames and frames[0] == PREEMPT:
            preempt += value
            frames = frames[1:]
        k = kind_of(frames)
        by[k] = by.get(k, 0.0) + value
        if k == ALLOC:
            o = kind_of(frames, owners)
            alloc_by[o] = alloc_by.get(o, 0.0) + value
    if total == 0:
        sys.exit("cpushare: no samples on stdin")
    scale = 1.0 if is_pprof else 1e-9  # perf's cpu-clock periods are in ns
    print(f"{'share':>6}  {'CPU s':>7}  kind of work")
    for k, v in sorted(by.items(), key=lambda kv: -kv[1]):
        print(f"{100 * v / total:5.1f} %  {v * scale:7.2f}  {k}")
    print(f"100.0 %  {total * scale:7.2f}  total CPU time in the samples")
    if alloc_by:
        print("allocation, by the code that allocated:")
        for k, v in sorted(alloc_by.items(), key=lambda kv: -kv[1]):
            if v < total / 1000:
                break  # under 0.1 %
            print(f"{100 * v / total:5.1f} %  {v * scale:7.2f}    {k}")
    if preempt:
        print(f"({100 * preempt / total:.1f} % of the samples were in runtime.asyncPreempt; "
              "they are counted with the function it interrupted)")


if __name__ == "__main__":
    main()
