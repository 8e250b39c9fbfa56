#!/usr/bin/env python3
"""Conformance adapter around tinygrad's safetensors functions (`tinygrad.nn.state`), pinned
in requirements.txt.

Reading: `safe_load_metadata(path)` gives the header as a dict (the metadata comes from its
`__metadata__`, and each tensor's data offsets from its entry: tinygrad slices the data at
exactly those), and `safe_load(path)` gives `{name: Tensor}`, each a slice of a DISK tensor
over the file, bitcast to the dtype and reshaped. The dtype tag reported is tinygrad's own
name for the Tensor's dtype (`inverse_safe_dtypes`); the shape is the Tensor's. Each
tensor's bytes are its realized buffer (`Tensor._buffer()`, what `Tensor.data()` copies
out), read without a copy (`as_memoryview(allow_zero_copy=True)` maps the file), so a 4 GiB
tensor costs no memory.

Writing: one Tensor per input (the bytes, bitcast to the dtype and reshaped), then
`safe_save(tensors, path, metadata)`. tinygrad's DISK writes go through its CPU device,
whose start-up compiles helpers with clang, so writing needs clang (setup.sh checks).

Errors: tinygrad wraps nothing. Python's JSON parser raises JSONDecodeError (and
UnicodeDecodeError when it guesses an encoding) and tinygrad's reshape and bitcast raise
ValueError or RuntimeError: those are refusals (`rejected`). KeyError (an unknown dtype, a
missing field), TypeError, IndexError, AttributeError, RecursionError and the like escape
from its loader: a library crash, answered `errored`. Messages do not map to stages, so
errors: "none".
"""

import hashlib
import importlib.metadata
import json
import math
import mmap
import os
import sys

# tinygrad picks its device from DEV at first use; force the CPU one (a DEV left by another
# tool, such as vitest's DEV=1, would name a device that does not exist)
os.environ["DEV"] = "CPU"

from tinygrad import Tensor, dtypes  # noqa: E402
from tinygrad.nn.state import (  # noqa: E402
    inverse_safe_dtypes, safe_dtypes, safe_load, safe_load_metadata, safe_save,
)

VERSION = importlib.metadata.version("tinygrad")
DTYPES = list(safe_dtypes)
REFUSALS = (ValueError, RuntimeError)  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
HASH_CHUNK = 1 << 24


def jsonable(value):
    """The library's value as JSON, for the `raw` field: tuples as lists, non-finite floats
    and anything else JSON lacks as their Python repr."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def is_u64(value):
    return type(value) is int and 0 <= value < 2**64


def failure(error, where):
    message = f"{type(error).__name__}: {error}"
    if isinstance(error, REFUSALS):
        return {"result": "rejected", "error": {"message": message}}
    return {"result": "errored", "message": message, "context": {"where": where}}


def tensor_sha256(tensor):
    """SHA-256 of the tensor's realized buffer: for a tensor loaded from a file, a view of
    the file's mapping."""
    if tensor.numel() == 0:  # as Tensor.data() does: no buffer to realize
        return hashlib.sha256(b"").hexdigest()
    view = tensor._buffer().as_memoryview(allow_zero_copy=True)
    digest = hashlib.sha256()
    for start in range(0, len(view), HASH_CHUNK):
        digest.update(view[start : start + HASH_CHUNK])
    return digest.hexdigest()


def read(path):
    try:
        _, _, header = safe_load_metadata(path)
        loaded = safe_load(path)
    except Exception as error:
        return failure(error, "safe_load")
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    raw = {"metadata": metadata,
           "tensors": {name: {"dtype": repr(t.dtype), "shape": t.shape,
                              "data_offsets": header[name].get("data_offsets")}
                       for name, t in loaded.items()}}

    def unrepresentable(what):
        return {"result": "accepted", "unrepresentable": what, "raw": jsonable(raw)}

    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        return unrepresentable("metadata that is not null or an object of strings")
    tensors = []
    for name, tensor in loaded.items():
        shape, offsets = list(tensor.shape), header[name].get("data_offsets")
        if not all(is_u64(d) for d in shape):
            return unrepresentable(f"tensor {name!r}: shape {tensor.shape!r} is not a list of u64")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(is_u64(o) for o in offsets)):
            return unrepresentable(f"tensor {name!r}: data_offsets {offsets!r} are not two u64")
        try:
            sha256 = tensor_sha256(tensor)
        except Exception as error:
            return failure(error, "Tensor._buffer")
        tensors.append({"name": name, "dtype": inverse_safe_dtypes[tensor.dtype], "shape": shape,
                        "dataOffsets": offsets, "sha256": sha256})
    return {"result": "accepted", "header": {"metadata": metadata, "tensors": tensors}}


def source_bytes(data):
    if data["length"] == 0:
        return b""
    with open(data["path"], "rb") as src:
        mapped = mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ)
    with mapped:
        return mapped[data["offset"] : data["offset"] + data["length"]]


def write(path, tensors, metadata):
    built = {}
    for t in tensors:
        name, dtype, shape = t["name"], t["dtype"], tuple(t["shape"])
        if name in built:
            return {"result": "skipped", "message": "safe_save takes a dict, which cannot hold two tensors with one name"}
        if dtype not in safe_dtypes:
            return {"result": "skipped", "message": f"tinygrad has no dtype for {dtype!r}"}
        try:
            raw = Tensor(source_bytes(t["data"]), dtype=dtypes.uint8)
            built[name] = raw.bitcast(safe_dtypes[dtype]).reshape(shape)
        except Exception as error:
            return {"result": "skipped", "message": f"tinygrad cannot build a {dtype} tensor "
                    f"of shape {list(shape)} from bytes: {type(error).__name__}: {error}"}
    try:
        safe_save(built, path, metadata)
    except Exception as error:
        return failure(error, "safe_save")
    return {"result": "written"}


def handle(request):
    cmd = request.get("cmd")
    if cmd == "start":
        return {
            "result": "started", "protocolVersion": 1,
            "implementation": {"name": "tinygrad", "version": VERSION, "language": "python",
                               "codebase": "tinygrad/tinygrad",
                               "homepage": "https://github.com/tinygrad/tinygrad",
                               "issues": "https://github.com/tinygrad/tinygrad/issues"},
            "capabilities": {"read": True, "write": True, "dtypes": DTYPES,
                             "specVersions": ["1.0.0"], "errors": "none"},
            # It never checks the data buffer's length, and has no header cap.
            "choices": {"trailing_bytes": "ignore", "max_header_length": "100000000"},
        }
    if cmd == "shutdown":
        return {"result": "bye"}
    try:
        if cmd == "read":
            return read(request["path"])
        if cmd == "write":
            return write(request["path"], request["tensors"], request["metadata"])
    except Exception as error:  # not the library's: the adapter failed
        return {"result": "errored", "message": f"adapter: {type(error).__name__}: {error}"}
    return {"result": "errored", "message": f"unknown command {cmd!r}"}


def emit(response):
    sys.stdout.write(json.dumps(response, allow_nan=False) + "\n")
    sys.stdout.flush()


def main(argv):
    if argv:  # one-shot mode
        if argv[0] == "write" and len(argv) == 2:
            with open(argv[1], encoding="utf-8") as file:
                request = json.load(file)
        elif argv[0] in ("start", "read") and len(argv) == (1 if argv[0] == "start" else 2):
            request = {"cmd": argv[0], "path": argv[-1]}
        else:
            print("usage: adapter.py [start | read FILE | write REQUEST.json]", file=sys.stderr)
            return 2
        emit(handle(request))
        return 0
    for line in sys.stdin:  # long-lived mode
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as error:
            emit({"result": "errored", "message": f"request is not JSON: {error}"})
            continue
        response = handle(request)
        emit({"seq": request["seq"], **response} if "seq" in request else response)
        if response["result"] == "bye":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
