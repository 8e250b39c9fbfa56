#!/usr/bin/env python3
"""Conformance adapter around the official `safetensors` Python package (pinned in setup.sh).

Reading: `safe_open(path, "numpy")` validates the whole header eagerly (it memory-maps the
file) and gives metadata, the names in offset order, dtypes and shapes; `deserialize(bytes)`
then gives each tensor's raw bytes for every dtype (no numpy conversion, so F8/F4/F6/BF16
work). Offsets are not exposed by the package; they follow exactly from its offset order and
byte lengths, because it has already checked that tensors tile the buffer from 0.

Writing: `serialize_file` with `TensorSpec`s pointing at numpy buffers.

The package raises one exception type, `SafetensorError`, whose message embeds the Rust
core's Display string; the adapter maps messages to stages (errors: "stages") and adds a
registry code only where the message names exactly one code.
"""

import hashlib
import json
import mmap
import sys

import numpy as np
import safetensors
from safetensors import SafetensorError, TensorSpec, deserialize, safe_open, serialize_file

# Spec dtype tag -> the framework dtype name TensorSpec accepts. F6 has no name there.
WRITE_DTYPES = {
    "BOOL": "bool", "F4": "float4_e2m1fn_x2", "U8": "uint8", "I8": "int8",
    "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn", "F8_E8M0": "float8_e8m0fnu",
    "F8_E4M3FNUZ": "float8_e4m3fnuz", "F8_E5M2FNUZ": "float8_e5m2fnuz", "I16": "int16",
    "U16": "uint16", "F16": "float16", "BF16": "bfloat16", "I32": "int32", "U32": "uint32",
    "F32": "float32", "C64": "complex64", "F64": "float64", "I64": "int64", "U64": "uint64",
}
# Tags numpy can hold, with their element size in bytes; the others come from deserialize.
NUMPY_DTYPES = {
    "BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "I32": 4, "U32": 4, "F32": 4,
    "C64": 8, "F64": 8, "I64": 8, "U64": 8,
}
READ_DTYPES = [
    "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
    "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
    "F64", "I64", "U64",
]

# Display strings of the Rust core's SafeTensorError -> (stage, code or None).
MESSAGES = [
    ("header too small", "prefix", "file_too_small"),
    ("header too large", "prefix", "header_too_large"),
    ("invalid header length", "prefix", "header_length_exceeds_file"),
    ("invalid UTF-8 in header", "encoding", "header_invalid_utf8"),
    ("invalid offset for tensor", "layout", None),  # end < begin, or a gap or overlap
    ("overflow computing buffer size", "layout", "tensor_size_mismatch"),  # SIZE-4
    ("The slice is slicing for subbytes", "layout", "misaligned_subbyte"),
    ("invalid shape, data type, or offset", "layout", "tensor_size_mismatch"),
    ("incomplete metadata, file not fully covered", "coverage", None),  # trailing or truncated
]
# serde's data-model errors (a well-formed value of the wrong shape); any other serde_json
# error is a syntax error.
SERDE_DATA = ("invalid type", "invalid value", "invalid length", "unknown variant",
              "unknown field", "missing field", "duplicate field")


def classify(message):
    """Maps a SafetensorError message to an error object with stage and, if exact, code."""
    error = {"message": message}
    detail = message.split(": ", 1)[-1]
    if detail.startswith("invalid JSON in header: "):
        serde = detail[len("invalid JSON in header: "):]
        error["stage"] = "structure" if serde.startswith(SERDE_DATA) else "syntax"
        return error
    for prefix, stage, code in MESSAGES:
        if detail.startswith(prefix):
            error["stage"] = stage
            if code is not None:
                error["code"] = code
            return error
    return error  # an unrecognised message: no stage rather than a guess


def read(path):
    try:
        opened = safe_open(path, framework="numpy")  # validates the whole header
    except SafetensorError as error:
        return {"result": "rejected", "error": classify(str(error))}
    # From here on the package has accepted the file: any error is the adapter's.
    with opened as f:
        metadata, names = f.metadata(), f.offset_keys()
        tensors, lengths, digests = [], {}, {}
        for name in names:
            view = f.get_slice(name)
            dtype, shape = view.get_dtype(), view.get_shape()
            tensors.append({"name": name, "dtype": dtype, "shape": shape})
            if dtype in NUMPY_DTYPES and len(shape) <= 64:  # numpy's rank limit
                lengths[name], digests[name] = hash_numpy(f, view, name, shape)
    if len(digests) < len(names):  # dtypes numpy lacks: raw bytes from deserialize
        with open(path, "rb") as file:
            for name, info in deserialize(file.read()):
                lengths[name] = len(info["data"])
                digests[name] = hashlib.sha256(info["data"]).hexdigest()
    offset = 0
    for t in tensors:
        t["dataOffsets"] = [offset, offset + lengths[t["name"]]]
        t["sha256"] = digests[t["name"]]
        offset += lengths[t["name"]]
    return {"result": "accepted", "header": {"metadata": metadata, "tensors": tensors}}


def hash_numpy(f, view, name, shape):
    """(byte length, SHA-256) of a tensor numpy can hold, read in slices of about 64 MiB
    along the first axis so that large tensors never sit in memory whole. numpy arrays of
    these dtypes are little-endian on the hosts this runs on, so tobytes() is the raw data."""
    if not shape:
        raw = f.get_tensor(name).tobytes()
        return len(raw), hashlib.sha256(raw).hexdigest()
    digest, length = hashlib.sha256(), 0
    row = NUMPY_DTYPES[view.get_dtype()]
    for dim in shape[1:]:
        row *= dim
    step = max(1, (1 << 26) // max(row, 1))
    for start in range(0, shape[0] if row else 0, step):
        chunk = view[start : min(start + step, shape[0])].tobytes()  # no clamping past the end
        digest.update(chunk)
        length += len(chunk)
    return length, digest.hexdigest()


def write(path, tensors, metadata):
    specs, buffers = {}, []
    for t in tensors:
        dtype, shape = t["dtype"], list(t["shape"])
        if t["name"] in specs:
            return {"result": "skipped", "message": "the Python API takes a dict, which cannot hold two tensors with one name"}
        if dtype in ("F6_E2M3", "F6_E3M2"):
            return {"result": "skipped", "message": f"the Python API has no dtype name for {dtype}"}
        if dtype == "F4":  # TensorSpec takes the packed storage shape and doubles the last dim
            if not shape or shape[-1] % 2:
                return {"result": "skipped", "message": f"the Python API cannot express F4 shape {shape}"}
            shape[-1] //= 2
        offset, length = t["data"]["offset"], t["data"]["length"]
        if length == 0:
            buffer = np.empty(0, dtype=np.uint8)
        else:  # map the source rather than copy it: tensors can be gigabytes
            with open(t["data"]["path"], "rb") as src:
                mapped = mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ)
            buffer = np.frombuffer(mapped, dtype=np.uint8, count=length, offset=offset)
        buffers.append(buffer)  # keeps the memory alive during serialize_file
        try:
            # Unknown tags are passed through for the package to refuse.
            specs[t["name"]] = TensorSpec(dtype=WRITE_DTYPES.get(dtype, dtype), shape=shape,
                                          data_ptr=buffer.ctypes.data, data_len=length)
        except SafetensorError as error:
            refusal = {"message": str(error), "stage": "structure"}
            if str(error).startswith("Unknown dtype"):
                refusal["code"] = "invalid_dtype"
            return {"result": "rejected", "error": refusal}
    try:
        serialize_file(specs, path, metadata=metadata)
    except SafetensorError as error:
        return {"result": "rejected", "error": classify(str(error))}
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
                               "language": "python",
                               "homepage": "https://github.com/huggingface/safetensors",
                               "issues": "https://github.com/huggingface/safetensors/issues"},
            "capabilities": {"read": True, "write": True, "dtypes": READ_DTYPES,
                             "specVersions": ["1.0.0"], "errors": "stages"},
            "choices": {"trailing_bytes": "reject", "max_header_length": "100000000"},
        }
    if cmd == "shutdown":
        return {"result": "bye"}
    try:
        if cmd == "read":
            return read(request["path"])
        if cmd == "write":
            return write(request["path"], request["tensors"], request["metadata"])
    except Exception as error:  # not the library's own error: the adapter failed
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
