#!/usr/bin/env python3
"""Conformance adapter around `gguf.utility.SafetensorsLocal`, the safetensors reader of
llama.cpp's `gguf` Python package (pinned in requirements.txt), which its
convert_hf_to_gguf.py uses to read checkpoints.

Reading: `SafetensorsLocal(Path(path))` parses the header and gives
`{name: LocalTensor(dtype, shape, data_range=(filename, offset, size))}`; each tensor's
bytes come from `LocalTensor.mmap_bytes()` (an `np.memmap` of `size` bytes at `offset`),
which is what the converter reads. The reader skips `__metadata__` whatever it holds and
exposes none, so metadata is reported as null. `offset` is absolute in the file; the
adapter subtracts the data start 8 + N (the prefix the reader read) to report data offsets.

Errors: the reader raises `ValueError` for a header longer than the file and for invalid
JSON, and its strict decode `UnicodeDecodeError` for invalid UTF-8; numpy raises
`ValueError` when `mmap_bytes` asks for a range outside the file. Those are refusals
(`rejected`). Anything else (KeyError for a missing field, TypeError or AttributeError for
a value of the wrong type, RecursionError, Python's ValueError for an integer of more than
4300 digits) escapes the reader: a library crash, answered `errored`. The messages do
not tell stages apart reliably (a range past the end of the file can be any layout or
coverage error), so errors: "none".
"""

import hashlib
import importlib.metadata
import json
import math
import struct
import sys
from pathlib import Path

from gguf.utility import SafetensorsLocal

# The reader passes any dtype string through and mmap_bytes returns raw bytes, so every
# spec tag can be read.
DTYPES = [
    "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
    "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
    "F64", "I64", "U64",
]
VERSION = importlib.metadata.version("gguf")
# The ValueErrors SafetensorsLocal raises itself; its strict UTF-8 decode raises the third.
OWN_REFUSALS = ("Could not read complete metadata", "Failed to parse safetensors metadata as JSON")


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


def crash(error, where):
    return {"result": "errored", "message": f"{type(error).__name__}: {error}", "context": {"where": where}}


def read(path):
    try:
        with SafetensorsLocal(Path(path)) as parsed:
            tensors = dict(parsed)
    except Exception as error:
        if isinstance(error, UnicodeDecodeError) or str(error).startswith(OWN_REFUSALS):
            return {"result": "rejected", "error": {"message": f"{type(error).__name__}: {error}"}}
        return crash(error, "SafetensorsLocal")  # escaped the reader's parser
    with open(path, "rb") as file:
        data_start = 8 + struct.unpack("<Q", file.read(8))[0]  # where the reader's f.tell() was
    raw = {name: {"dtype": t.dtype, "shape": t.shape, "offset": t.data_range.offset,
                  "size": t.data_range.size} for name, t in tensors.items()}

    def unrepresentable(what):
        return {"result": "accepted", "unrepresentable": what, "raw": jsonable(raw)}

    described = []
    for name, tensor in tensors.items():
        dtype, shape = tensor.dtype, list(tensor.shape)
        begin, size = tensor.data_range.offset - data_start, tensor.data_range.size
        if not isinstance(dtype, str):
            return unrepresentable(f"tensor {name!r}: dtype {dtype!r} is not a string")
        if not all(is_u64(d) for d in shape):
            return unrepresentable(f"tensor {name!r}: shape {tensor.shape!r} is not a list of u64")
        if not (is_u64(begin) and is_u64(size) and is_u64(begin + size)):
            return unrepresentable(f"tensor {name!r}: data range offset {begin!r}, size {size!r} "
                                   "are not two u64 data offsets")
        described.append({"name": name, "dtype": dtype, "shape": shape,
                          "dataOffsets": [begin, begin + size]})
    for entry in described:
        try:
            data = tensors[entry["name"]].mmap_bytes()  # what the converter reads
        except ValueError as error:  # numpy refuses a range outside the file
            return {"result": "rejected", "error": {"message": f"mmap_bytes: ValueError: {error}"}}
        except Exception as error:
            return crash(error, "LocalTensor.mmap_bytes")
        entry["sha256"] = hashlib.sha256(data).hexdigest()  # pages of the file, not copies
        del data
    return {"result": "accepted", "header": {"metadata": None, "tensors": described}}


def handle(request):
    cmd = request.get("cmd")
    if cmd == "start":
        return {
            "result": "started", "protocolVersion": 1,
            "implementation": {"name": "gguf (SafetensorsLocal)", "version": VERSION,
                               "language": "python", "codebase": "ggml-org/llama.cpp",
                               "homepage": "https://github.com/ggml-org/llama.cpp/tree/master/gguf-py",
                               "issues": "https://github.com/ggml-org/llama.cpp/issues"},
            "capabilities": {"read": True, "write": False, "dtypes": DTYPES,
                             "specVersions": ["1.0.0"], "errors": "none"},
            # It never checks the data buffer's length, and has no header cap (the header is
            # only bounded by the file's size).
            "choices": {"trailing_bytes": "ignore", "max_header_length": "100000000"},
        }
    if cmd == "shutdown":
        return {"result": "bye"}
    try:
        if cmd == "read":
            return read(request["path"])
        if cmd == "write":
            return {"result": "skipped", "message": "gguf has no safetensors writer"}
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
