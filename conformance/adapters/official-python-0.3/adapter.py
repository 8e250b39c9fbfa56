#!/usr/bin/env python3
"""Conformance adapter around an older release of the official `safetensors` Python package:
0.3.x (official-python-0.3) and 0.5.x (official-python-0.5, which runs this file with its
own virtual environment). Both releases have the same Python API: `safe_open`, `serialize`,
`serialize_file` taking plain dicts of bytes, `deserialize`, and one exception type,
`SafetensorError`. The adapter asks the loaded release what it knows rather than assuming.

Reading: `safe_open(path, "numpy")` validates the whole header eagerly (it memory-maps the
file) and gives the metadata and the names (sorted). Dtypes, shapes and bytes come from
`deserialize(bytes)` (one pass, every dtype), or for files over 64 MiB from `get_slice`
reads for the dtypes numpy holds. Neither release exposes data offsets or the offset order,
so the adapter opens the file a second time with framework "pt" and a stand-in `torch`
module: the package then asks that module's storage for each tensor as a slice of absolute
file positions, which are the package's own offsets (see README.md).

Writing: `serialize_file({name: {"dtype", "shape", "data"}}, path, metadata)`.

The package's messages embed the Rust core's `Debug` form of its error. These releases drop
serde_json's error (`InvalidHeaderDeserialization`), so syntax and structure errors cannot
be told apart: the adapter declares errors "none", and adds a stage and a code wherever a
message means exactly one.
"""

import hashlib
import json
import os
import struct
import sys
import types

import numpy as np
import safetensors
from safetensors import SafetensorError, deserialize, safe_open, serialize_file

# Every tag of the spec's dtype table (spec/v1/spec.md §7.1), in table order.
SPEC_DTYPES = [
    "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
    "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
    "F64", "I64", "U64",
]
# Spec dtype tag -> the name the writer's dict takes ("dtype X is not covered" otherwise).
WRITE_DTYPES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "F8_E5M2": "float8_e5m2",
    "F8_E4M3": "float8_e4m3fn", "I16": "int16", "U16": "uint16", "F16": "float16",
    "BF16": "bfloat16", "I32": "int32", "U32": "uint32", "F32": "float32", "F64": "float64",
    "I64": "int64", "U64": "uint64",
}
# Tags numpy holds, with their element size in bytes; the others come from deserialize.
NUMPY_DTYPES = {
    "BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "I32": 4, "U32": 4, "F32": 4,
    "F64": 8, "I64": 8, "U64": 8,
}
NUMPY_MAX_RANK = 32  # numpy 1.x; numpy 2 allows 64
# Files up to this size are read whole, with deserialize(bytes); larger ones tensor by tensor.
SMALL_FILE = 64 << 20

# The Debug form of the Rust core's SafeTensorError -> (stage, code); None where the variant
# covers several stages or codes.
VARIANTS = {
    "HeaderTooSmall": ("prefix", "file_too_small"),
    "HeaderTooLarge": ("prefix", "header_too_large"),
    "InvalidHeaderLength": ("prefix", "header_length_exceeds_file"),
    "InvalidHeader": ("encoding", "header_invalid_utf8"),
    "InvalidHeaderStart": (None, None),  # leading whitespace, a BOM, an array, garbage
    "InvalidHeaderDeserialization": (None, None),  # a syntax error or a wrong-typed field
    "InvalidOffset": ("layout", None),  # end < begin, a gap or an overlap
    "TensorInvalidInfo": ("layout", "tensor_size_mismatch"),
    "ValidationOverflow": ("layout", "tensor_size_mismatch"),  # SIZE-4
    "InvalidTensorView": ("layout", "tensor_size_mismatch"),
    "MetadataIncompleteBuffer": ("coverage", None),  # trailing or truncated
}


def classify(message):
    """Maps a SafetensorError message to an error object, with stage and code where exact."""
    error = {"message": message}
    detail = message.split(": ", 1)[-1]
    variant = detail.split("(", 1)[0].strip()
    stage, code = VARIANTS.get(variant, (None, None))
    if stage is not None:
        error["stage"] = stage
    if code is not None:
        error["code"] = code
    return error


def tiny_file(dtype):
    header = json.dumps({"t": {"dtype": dtype, "shape": [0], "data_offsets": [0, 0]}}).encode()
    return struct.pack("<Q", len(header)) + header


def known_dtypes():
    """The tags the loaded release reads: those whose zero-size tensor it deserializes."""
    known = []
    for tag in SPEC_DTYPES:
        try:
            deserialize(tiny_file(tag))
        except SafetensorError:
            continue
        known.append(tag)
    return known


# A stand-in for torch, so that safe_open(framework="pt") reveals the package's offsets.
# With torch >= 2.0 the package wraps the file in `torch.UntypedStorage.from_file(...)` and
# reads a tensor as `storage[begin + 8 + N : end + 8 + N]`, then `torch.asarray(...)`,
# `.view(dtype=...)` and `.reshape(shape)`. The stand-in reads nothing: each step returns
# the slice the package asked for.
class _Span:
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def view(self, *args, **kwargs):
        return self

    def reshape(self, *args, **kwargs):
        return self


class _UntypedStorage:
    @classmethod
    def from_file(cls, filename, shared=False, nbytes=0):
        return cls()

    def untyped(self):
        return self

    def __getitem__(self, key):
        return _Span(key.start, key.stop)


def _stand_in_torch():
    torch = types.ModuleType("torch", "stand-in: records the byte ranges safetensors asks for")
    torch.__version__ = "2.0.0"
    torch.UntypedStorage = _UntypedStorage
    torch.asarray = lambda obj, **kwargs: obj
    for name in ("bool", "uint8", "int8", "int16", "uint16", "int32", "uint32", "int64",
                 "uint64", "float16", "bfloat16", "float32", "float64", "float8_e4m3fn",
                 "float8_e5m2"):
        setattr(torch, name, name)
    return torch


if "torch" not in sys.modules:
    sys.modules["torch"] = _stand_in_torch()


def offsets(path, names):
    """Each named tensor's [begin, end] as the package computes them. The package checked
    that the tensors tile the data buffer from 0, so the smallest absolute start among
    non-empty tensors is the buffer's start."""
    with safe_open(path, framework="pt") as f:
        spans = {name: f.get_tensor(name) for name in names}
    if not all(isinstance(s, _Span) for s in spans.values()):
        raise RuntimeError("the stand-in torch module was not used")
    base = min((s.start for s in spans.values()), default=0)
    return {name: [s.start - base, s.stop - base] for name, s in spans.items()}


def read(path):
    try:
        opened = safe_open(path, framework="numpy")  # validates the whole header
    except SafetensorError as error:
        return {"result": "rejected", "error": classify(str(error))}
    # From here on the package has accepted the file: any error is the adapter's.
    with opened as f:
        metadata, names = f.metadata(), f.keys()
        if os.path.getsize(path) <= SMALL_FILE:
            # One linear pass in the core. get_slice rebuilds the whole name map on every
            # call in these releases, so a call per tensor is quadratic in the tensor count.
            with open(path, "rb") as file:
                items = deserialize(file.read())
            found = {name: (t["dtype"], t["shape"], len(t["data"]),
                            hashlib.sha256(t["data"]).hexdigest()) for name, t in items}
        else:
            found = read_large(path, f, names)
    tensors = [{"name": name, "dtype": found[name][0], "shape": found[name][1]} for name in names]
    # Zero-size tensors have no bytes and their offsets carry no meaning (HDR-11): the
    # adapter asks the package only for the others (a call per tensor, see above).
    spans = offsets(path, [name for name in names if found[name][2] > 0])
    for t in tensors:
        t["dataOffsets"] = spans.get(t["name"], [0, 0])
        t["sha256"] = found[t["name"]][3]
    return {"result": "accepted", "header": {"metadata": metadata, "tensors": tensors}}


def read_large(path, f, names):
    """(dtype, shape, byte length, SHA-256) of each tensor of a large file: numpy dtypes in
    slices through get_slice, never whole in memory; the others from deserialize(bytes)."""
    found = {}
    for name in names:
        view = f.get_slice(name)
        dtype, shape = view.get_dtype(), view.get_shape()
        if dtype in NUMPY_DTYPES and len(shape) <= NUMPY_MAX_RANK:
            found[name] = (dtype, shape, *hash_numpy(f, view, name, shape))
    if len(found) < len(names):
        with open(path, "rb") as file:
            for name, t in deserialize(file.read()):
                found[name] = (t["dtype"], t["shape"], len(t["data"]),
                               hashlib.sha256(t["data"]).hexdigest())
    return found


def hash_numpy(f, view, name, shape):
    """(byte length, SHA-256) of a tensor numpy can hold, read in slices of about 64 MiB
    along the first axis. numpy arrays of these dtypes are little-endian on the hosts this
    runs on, so tobytes() is the raw data."""
    if not shape:
        raw = f.get_tensor(name).tobytes()
        return len(raw), hashlib.sha256(raw).hexdigest()
    digest, length = hashlib.sha256(), 0
    row = NUMPY_DTYPES[view.get_dtype()]
    for dim in shape[1:]:
        row *= dim
    step = max(1, (1 << 26) // max(row, 1))
    for start in range(0, shape[0] if row else 0, step):
        chunk = view[start : min(start + step, shape[0])].tobytes()
        digest.update(chunk)
        length += len(chunk)
    return length, digest.hexdigest()


def write(path, tensors, metadata):
    tensor_dict = {}
    for t in tensors:
        if t["name"] in tensor_dict:
            return {"result": "skipped", "message": "the Python API takes a dict, which cannot hold two tensors with one name"}
        with open(t["data"]["path"], "rb") as src:  # the API takes each tensor as bytes
            src.seek(t["data"]["offset"])
            data = src.read(t["data"]["length"])
        # Unknown tags are passed through for the package to refuse.
        tensor_dict[t["name"]] = {"dtype": WRITE_DTYPES.get(t["dtype"], t["dtype"]),
                                  "shape": list(t["shape"]), "data": data}
    try:
        serialize_file(tensor_dict, path, metadata=metadata)
    except SafetensorError as error:
        message = str(error)
        if message.startswith("dtype ") and message.endswith(" is not covered"):
            return {"result": "rejected", "error": {"message": message, "stage": "structure", "code": "invalid_dtype"}}
        return {"result": "rejected", "error": classify(message)}
    except TypeError as error:  # pyo3 refuses non-string metadata values by type
        return {"result": "rejected", "error": {"message": str(error), "stage": "structure"}}
    except UnicodeEncodeError as error:  # pyo3 cannot pass a lone surrogate as a Rust String
        return {"result": "rejected", "error": {"message": str(error), "stage": "syntax", "code": "invalid_string"}}
    return {"result": "written"}


def handle(request):
    cmd = request.get("cmd")
    if cmd == "start":
        return {
            "result": "started", "protocolVersion": 1,
            "implementation": {"name": "safetensors (Python)", "version": safetensors.__version__,
                               "language": "python", "codebase": "safetensors/safetensors",
                               "homepage": "https://github.com/huggingface/safetensors",
                               "issues": "https://github.com/huggingface/safetensors/issues"},
            "capabilities": {"read": True, "write": True, "dtypes": known_dtypes(),
                             "specVersions": ["1.0.0"], "errors": "none"},
            "choices": {"trailing_bytes": "reject", "max_header_length": "100000000"},
        }
    if cmd == "shutdown":
        return {"result": "bye"}
    try:
        if cmd == "read":
            return read(request["path"])
        if cmd == "write":
            return write(request["path"], request["tensors"], request["metadata"])
    except Exception as error:  # not the library's own refusal: the adapter or the library failed
        return {"result": "errored", "message": f"{type(error).__name__}: {error}"}
    return {"result": "errored", "message": f"unknown command {cmd!r}"}


def emit(response):
    sys.stdout.write(json.dumps(response) + "\n")
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
