#!/usr/bin/env python3
"""A faux long-lived adapter in Python for the address-space cap: it replays the sidecar
answer of each case, except for files named *alloc*, where it allocates 3 GiB from a
"claimed" size before checking anything (and so dies of MemoryError under ulimit -v)."""
import json
import sys

STARTED = {
    "result": "started",
    "protocolVersion": 1,
    "implementation": {"name": "faux-alloc", "version": "0.0.0", "language": "python"},
    "capabilities": {"read": True, "write": False, "dtypes": ["F32"], "specVersions": ["1.0.0"], "errors": "codes"},
}

for line in sys.stdin:
    request = json.loads(line)
    seq = request["seq"]
    if request["cmd"] == "start":
        answer = STARTED
    elif request["cmd"] == "shutdown":
        print(json.dumps({"seq": seq, "result": "bye"}), flush=True)
        break
    else:
        path = request["path"]
        if "alloc" in path:
            claimed = bytearray(3 * 1024**3)
        with open(path + ".answer.json") as f:
            answer = json.load(f)
    print(json.dumps({"seq": seq, **answer}), flush=True)
