#!/usr/bin/env python3
"""Conformance adapter around Apple's MLX (`mlx.core`, CPU build), pinned in requirements.txt.

Reading: `mx.load(path, format="safetensors", return_metadata=True)` gives `({name: array},
{key: value})`. The arrays are lazy: MLX reads a tensor's bytes from the file when the array
is evaluated, which the adapter does one tensor at a time while hashing it. The dtype tag
reported is the safetensors tag MLX itself writes for the array's dtype (its
`dtype_to_safetensor_str` table): MLX loads F8_E4M3 and F8_E8M0 tensors as `uint8`, so those
come back as U8, which is what the library returns. The bytes hashed are the evaluated
array's buffer (bfloat16 viewed as uint16 first, since numpy has no bfloat16). MLX exposes no
data offsets, and they are not derived: its loader does not check that tensors tile the data
buffer, so offset order and byte lengths would not give the file's offsets.

Writing: one `mx.array` per input, built from the request's raw bytes (numpy `frombuffer`
with the dtype, flat, then `mx.array`; BF16 is built as uint16 and viewed as bfloat16) and
reshaped by MLX, then `mx.save_safetensors(path, arrays, metadata)`.

Errors: the C++ core throws `std::runtime_error` with a `[load_safetensors]` or
`[safetensor]` prefix for its own checks, and lets nlohmann::json's exceptions
(`[json.exception.parse_error...]`, `type_error`, `out_of_range`) escape; nanobind turns
all of them into RuntimeError, and `std::invalid_argument` into ValueError. Those are the
library's refusals (`rejected`); the adapter maps their messages to stages. When a message
quotes a byte that is not UTF-8, the binding raises UnicodeDecodeError holding the
message's bytes: the adapter recovers the text from them. Anything else
escaping from the library (MemoryError, IndexError, OverflowError, ...) is `errored`.
"""

import hashlib
import importlib.metadata
import json
import mmap
import sys

import mlx.core as mx
import numpy as np

VERSION = importlib.metadata.version("mlx")

# MLX's own table (mlx/io/safetensors.cpp, dtype_to_safetensor_str): array dtype -> tag.
TAGS = {
    mx.bool_: "BOOL", mx.uint8: "U8", mx.int8: "I8", mx.int16: "I16", mx.uint16: "U16",
    mx.float16: "F16", mx.bfloat16: "BF16", mx.int32: "I32", mx.uint32: "U32",
    mx.float32: "F32", mx.complex64: "C64", mx.int64: "I64", mx.uint64: "U64",
}
# Tags the writer can build an array of, as the numpy dtype of the raw bytes (BF16 is viewed
# as mx.bfloat16 after conversion).
WRITE_NUMPY = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16,
    "F16": np.float16, "BF16": np.uint16, "I32": np.int32, "U32": np.uint32,
    "F32": np.float32, "C64": np.complex64, "I64": np.int64, "U64": np.uint64,
}
# What mx.load accepts (dtype_from_safetensor_str): the writable tags, plus F8_E4M3 and
# F8_E8M0, which it loads as uint8.
DTYPES = sorted(WRITE_NUMPY) + ["F8_E4M3", "F8_E8M0"]
REFUSALS = (RuntimeError, ValueError)

# Message fragments of MLX's refusals -> (stage, code or None). First match wins.
MESSAGES = [
    ("[read] Unable to read", "prefix", "file_too_small"),  # the 8-byte prefix (data is read lazily)
    ("Invalid json header length", "prefix", None),  # length 0, or >= 100,000,000
    ("bytes long but the file is only", "prefix", "header_length_exceeds_file"),
    ("ill-formed UTF-8", "encoding", "header_invalid_utf8"),
    ("[json.exception.parse_error", "syntax", None),
    ("Invalid json metadata", "structure", "header_not_object"),
    ("[json.exception.type_error", "structure", None),
    ("[json.exception.out_of_range", "structure", None),
    ("unsupported dtype", "structure", "invalid_dtype"),
    ("data_offsets must have exactly 2 entries", "structure", "invalid_offsets"),
    ("exceeding the size of the file", "coverage", "data_truncated"),
    ("invalid data offsets", "layout", None),  # end < begin, or a size mismatch
    ("Metadata must be a dictionary with string keys and values", "structure", "invalid_metadata"),
    ("received invalid dtype", "structure", "invalid_dtype"),
]


def classify(message):
    error = {"message": message}
    for fragment, stage, code in MESSAGES:
        if fragment in message:
            error["stage"] = stage
            if code is not None:
                error["code"] = code
            break
    return error


def failure(error, where):
    message = f"{type(error).__name__}: {error}"
    if isinstance(error, UnicodeDecodeError) and isinstance(error.object, bytes):
        # nanobind turns a C++ exception into a Python one by decoding what() as UTF-8; when
        # nlohmann's message quotes a byte of an ill-formed sequence ("last read: '\xc0'"),
        # that decoding fails and Python raises UnicodeDecodeError instead, holding the
        # message's bytes. The library's own text is recovered with the bytes escaped.
        text = error.object.decode("utf-8", "backslashreplace")
        return {"result": "rejected",
                "error": classify(f"{text} (UnicodeDecodeError: the message is not UTF-8)")}
    if isinstance(error, REFUSALS):
        return {"result": "rejected", "error": classify(message)}
    return {"result": "errored", "message": message, "context": {"where": where}}


def tensor_sha256(arr):
    """SHA-256 of the evaluated array's buffer, as MLX holds it: flattened (numpy cannot take
    a rank above 64, nor a shape whose product overflows), bfloat16 viewed as uint16 (numpy has
    no bfloat16). An array MLX sizes at 0 bytes holds nothing to read or evaluate."""
    if arr.nbytes == 0:
        return hashlib.sha256(b"").hexdigest()
    flat = arr.reshape(-1)
    if flat.dtype == mx.bfloat16:
        flat = flat.view(mx.uint16)
    mx.eval(flat)  # MLX reads the bytes from the file here
    return hashlib.sha256(memoryview(np.array(flat, copy=False)).cast("B")).hexdigest()


def read(path):
    try:
        arrays, metadata = mx.load(path, format="safetensors", return_metadata=True)
    except Exception as error:
        return failure(error, "mx.load")
    shapes = {name: list(arr.shape) for name, arr in arrays.items()}
    if any(d < 0 for shape in shapes.values() for d in shape):
        # MLX narrows each dimension to int32, so a large one can come back negative.
        bad = next(name for name, shape in shapes.items() if any(d < 0 for d in shape))
        return {"result": "accepted", "unrepresentable": f"tensor {bad!r}: shape {shapes[bad]}",
                "raw": {"metadata": metadata,
                        "tensors": {name: {"dtype": str(arr.dtype), "shape": shapes[name]}
                                    for name, arr in arrays.items()}}}
    tensors = []
    for name in list(arrays):
        arr = arrays.pop(name)  # drop each array once hashed, so one tensor is held at a time
        try:
            digest = tensor_sha256(arr)
        except Exception as error:  # the library accepted the file, then failed to read it
            return {"result": "errored", "message": f"{type(error).__name__}: {error}",
                    "context": {"where": "mx.eval", "tensor": name}}
        tensors.append({"name": name, "dtype": TAGS[arr.dtype], "shape": shapes[name], "sha256": digest})
        del arr
    # MLX returns {} whether __metadata__ is absent, null or empty.
    return {"result": "accepted", "header": {"metadata": metadata, "tensors": tensors}}


def source_array(data, dtype):
    """The request's raw bytes as a flat numpy array of `dtype` (a view of the mapped file)."""
    if data["length"] == 0:
        return np.empty(0, dtype=dtype)
    with open(data["path"], "rb") as src:
        mapped = mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ)
    return np.frombuffer(mapped, dtype=np.uint8, count=data["length"], offset=data["offset"]).view(dtype)


def write(path, tensors, metadata):
    arrays = {}
    for t in tensors:
        name, dtype, shape = t["name"], t["dtype"], list(t["shape"])
        if name in arrays:
            return {"result": "skipped", "message": "save_safetensors takes a dict, which cannot hold two tensors with one name"}
        if dtype not in WRITE_NUMPY:
            return {"result": "skipped", "message": f"MLX has no array dtype that save_safetensors writes as {dtype!r}"}
        try:
            flat = source_array(t["data"], WRITE_NUMPY[dtype])
        except ValueError as error:  # a length that is not a whole number of elements
            return {"result": "skipped", "message": f"{t['data']['length']} bytes are not whole {dtype} elements: {error}"}
        try:
            arr = mx.array(flat)
            if dtype == "BF16":
                arr = arr.view(mx.bfloat16)
            arr = arr.reshape(shape)  # MLX's own check of the shape against the element count
        except Exception as error:
            return {"result": "skipped", "message": f"MLX cannot hold {len(flat)} {dtype} elements as "
                    f"shape {shape}: {type(error).__name__}: {error}"}
        arrays[name] = arr
    try:
        mx.save_safetensors(path, arrays, metadata)
    except Exception as error:
        return failure(error, "mx.save_safetensors")
    return {"result": "written"}


def handle(request):
    cmd = request.get("cmd")
    if cmd == "start":
        return {
            "result": "started", "protocolVersion": 1,
            "implementation": {"name": "mlx", "version": VERSION, "language": "python",
                               "codebase": "ml-explore/mlx",
                               "homepage": "https://github.com/ml-explore/mlx",
                               "issues": "https://github.com/ml-explore/mlx/issues"},
            "capabilities": {"read": True, "write": True, "dtypes": DTYPES,
                             "specVersions": ["1.0.0"], "errors": "stages"},
            # The loader never compares the data buffer's length with the tensors; it refuses
            # header lengths of 100,000,000 and above.
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
