#!/usr/bin/env python3
"""Conformance adapter around huggingface_hub's local safetensors header parser (pinned in
requirements.txt).

Reading: `parse_local_safetensors_file_metadata(path)` reads the 8-byte prefix and the header
and returns `SafetensorsFileMetadata(metadata, tensors={name: TensorInfo(dtype, shape,
data_offsets)})`. It never reads tensor bytes. So this adapter hashes each tensor from the
file itself at the offsets the library returned, relative to the data start 8 + N (N being
the prefix the library read): the "library exposes only offsets" exception.

The package raises `SafetensorsParsingError` with one of five fixed messages, each meaning
exactly one registry code (errors: "codes"). Anything else it raises (AttributeError for a
header that is not an object, TypeError for an entry that is not one, RecursionError,
ValueError from Python's int limit) escapes its parser: a library crash, answered `errored`.
"""

import hashlib
import json
import math
import os
import struct
import sys

import huggingface_hub
from huggingface_hub import parse_local_safetensors_file_metadata
from huggingface_hub.errors import SafetensorsParsingError

# Every spec tag: the parser passes any dtype string through and this adapter hashes by
# offsets, so no tag is beyond it.
DTYPES = [
    "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
    "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
    "F64", "I64", "U64",
]
# The five SafetensorsParsingError messages of hf_api.py -> (code, stage).
MESSAGES = [
    ("file is too small to be a valid safetensors file", "file_too_small", "prefix"),
    ("safetensors header is too big", "header_too_large", "prefix"),
    ("file is truncated", "header_length_exceeds_file", "prefix"),
    ("header is not json-encoded string", "header_invalid_json", "syntax"),
    ("header format not recognized", "invalid_tensor_entry", "structure"),  # a KeyError: missing field
]
CHUNK = 1 << 24


def classify(message):
    for needle, code, stage in MESSAGES:
        if needle in message:
            return {"code": code, "stage": stage, "message": message}
    return {"message": message}  # an unknown message: no code rather than a guess


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


def read(path):
    try:
        parsed = parse_local_safetensors_file_metadata(path)
    except SafetensorsParsingError as error:
        return {"result": "rejected", "error": classify(str(error))}
    except Exception as error:  # escaped the library's parser: a crash inside it
        return {"result": "errored", "message": f"{type(error).__name__}: {error}",
                "context": {"where": "parse_local_safetensors_file_metadata"}}
    raw = {"metadata": parsed.metadata,
           "tensors": {name: {"dtype": t.dtype, "shape": t.shape, "data_offsets": t.data_offsets}
                       for name, t in parsed.tensors.items()}}

    def unrepresentable(what):
        return {"result": "accepted", "unrepresentable": what, "raw": jsonable(raw)}

    metadata = parsed.metadata  # {} when __metadata__ is absent, None when it is null
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        return unrepresentable("metadata that is not null or an object of strings")
    with open(path, "rb") as file:
        # The data start the library's offsets are relative to: 8 + the prefix it read.
        data_start = 8 + struct.unpack("<Q", file.read(8))[0]
        data_length = os.fstat(file.fileno()).st_size - data_start
        tensors = []
        for name, info in parsed.tensors.items():
            dtype, shape, offsets = info.dtype, info.shape, info.data_offsets
            if not isinstance(dtype, str):
                return unrepresentable(f"tensor {name!r}: dtype {dtype!r} is not a string")
            if not isinstance(shape, list) or not all(is_u64(d) for d in shape):
                return unrepresentable(f"tensor {name!r}: shape {shape!r} is not a list of u64")
            if len(offsets) != 2 or not all(is_u64(o) for o in offsets):
                return unrepresentable(f"tensor {name!r}: data_offsets {offsets!r} are not two u64")
            begin, end = offsets
            if begin > end or end > data_length:
                return unrepresentable(
                    f"tensor {name!r}: data_offsets [{begin}, {end}] are not a range of the "
                    f"{data_length} data bytes, so there are no tensor bytes to hash")
            tensors.append({"name": name, "dtype": dtype, "shape": shape,
                            "dataOffsets": [begin, end],
                            "sha256": hash_range(file, data_start + begin, end - begin)})
    return {"result": "accepted", "header": {"metadata": metadata, "tensors": tensors}}


def hash_range(file, start, length):
    """SHA-256 of `length` bytes of the file from `start`, in 16 MiB reads."""
    digest = hashlib.sha256()
    file.seek(start)
    while length > 0:
        chunk = file.read(min(CHUNK, length))
        if not chunk:
            break
        digest.update(chunk)
        length -= len(chunk)
    return digest.hexdigest()


def handle(request):
    cmd = request.get("cmd")
    if cmd == "start":
        return {
            "result": "started", "protocolVersion": 1,
            "implementation": {"name": "huggingface_hub", "version": huggingface_hub.__version__,
                               "language": "python",
                               "codebase": "huggingface/huggingface_hub",
                               "homepage": "https://github.com/huggingface/huggingface_hub",
                               "issues": "https://github.com/huggingface/huggingface_hub/issues"},
            "capabilities": {"read": True, "write": False, "dtypes": DTYPES,
                             "specVersions": ["1.0.0"], "errors": "codes"},
            # It never looks at the data buffer, and caps the header at 25,000,000 bytes.
            "choices": {"trailing_bytes": "ignore", "max_header_length": "25000000"},
        }
    if cmd == "shutdown":
        return {"result": "bye"}
    try:
        if cmd == "read":
            return read(request["path"])
        if cmd == "write":
            return {"result": "skipped", "message": "huggingface_hub has no safetensors writer"}
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
