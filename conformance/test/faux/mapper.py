#!/usr/bin/env python3
"""A faux adapter in Python that reads the way a memory-mapping reader does: for a case
file named *mmap* it creates a sparse file of FAUX_MMAP_MIB MiB (default 512) next to it,
maps it read-only and touches every page, as a reader hashing a large mapped tensor would;
then it answers from the case's sidecar `<case>.answer.json`. For *alloc* cases it fills a
400 MiB bytes object instead (anonymous memory). After touching the mapping it writes its
own memory figures from /proc/self/status to `<case>.memory.json`, so a test can check the
mapping really was resident. Run with `start` or `read <path>` it is one-shot; with no arguments
it is long-lived."""
import json
import mmap
import os
import sys

STARTED = {
    "result": "started",
    "protocolVersion": 1,
    "implementation": {"name": "faux-mmap", "version": "0.0.0", "language": "python"},
    "capabilities": {"read": True, "write": False, "dtypes": ["F32"], "specVersions": ["1.0.0"], "errors": "codes"},
}

PAGE = mmap.PAGESIZE
hold = []


def memory_figures():
    figures = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                figures[name] = int(value.split()[0])
    return figures


def touch_mapped(path):
    sparse = path + ".sparse"
    size = int(os.environ.get("FAUX_MMAP_MIB", "512")) * 1024 * 1024
    with open(sparse, "wb") as f:
        f.truncate(size)
    try:
        with open(sparse, "rb") as f, mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as m:
            total = 0
            for offset in range(0, size, PAGE):
                total += m[offset]
            figures = memory_figures()
    finally:
        os.unlink(sparse)
    return figures


def read(path):
    figures = None
    if "mmap" in os.path.basename(path):
        figures = touch_mapped(path)
    elif "alloc" in os.path.basename(path):
        hold.append(b"\x01" * (400 * 1024 * 1024))
    if figures is not None:
        with open(path + ".memory.json", "w") as f:
            json.dump(figures, f)
    with open(path + ".answer.json") as f:
        return json.load(f)


def main():
    if len(sys.argv) > 1:
        answer = STARTED if sys.argv[1] == "start" else read(sys.argv[2])
        print(json.dumps(answer), flush=True)
        return
    for line in sys.stdin:
        request = json.loads(line)
        seq = request["seq"]
        if request["cmd"] == "start":
            answer = STARTED
        elif request["cmd"] == "shutdown":
            print(json.dumps({"seq": seq, "result": "bye"}), flush=True)
            break
        else:
            answer = read(request["path"])
        print(json.dumps({"seq": seq, **answer}), flush=True)


main()
