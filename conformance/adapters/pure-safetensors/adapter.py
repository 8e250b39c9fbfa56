#!/usr/bin/env python3
"""Conformance adapter around pure-safetensors (PyPI `pure-safetensors`, module
`pure_safetensors`), a pure-Python reader and writer built on its `SafeTensors` class,
pinned in requirements.txt. numpy is not needed: the adapter uses the library's buffer
API (`SafeTensors.as_buffer()`), which hands out raw bytes.

Reading: `SafeTensors(path, "r")` reads the prefix and header (Python's `json` on the
header bytes, then a marshmallow schema), checks sizes, overlaps and the file's length,
and maps the whole file. `.metadata` is the `__metadata__` object (or None) and
`.tensors` is `{name: SafeTensorInfo(dtype, shape, start, end)}`, with `start`/`end`
absolute in the file (the library adds the header size 8 + N to the data offsets, and
moves a zero-size tensor to [0, 0]). The adapter reports `start - (8 + N)` and
`end - (8 + N)` as data offsets, N being the header length the library parsed
(`len(st.map.header) - 8`). Each tensor's bytes are `st.as_buffer()[name][0]`, a
memoryview of the library's mapping, hashed without a copy.

Writing: `SafeTensors(path, "w+", sparse=False)` creates (truncates) the file, the
metadata is assigned to `.metadata`, and `as_buffer().update({name: (bytes, dtype, shape)})`
allocates every tensor and copies its bytes in. The buffer API takes the library's own
`DType` objects (`pure_safetensors.safetensors.dtypes`) and a dict of names: a dtype
outside that table, or two tensors with one name, cannot be passed to it (`skipped`).
`sparse=False` only turns off punching holes in the file (the optional `sparsefile`
module is not installed); the bytes written are the same.

Errors: the library raises `SafeTensorError` (and its subclasses) for the checks it
makes itself and marshmallow's `ValidationError` for a header that does not fit its
schema; Python's `json` raises `JSONDecodeError`, and `UnicodeDecodeError` for bytes it
cannot decode. Those are refusals (`rejected`), mapped to a stage (and a code where the
message means exactly one) from the exception's own text or the schema field it names.
Anything else (a `KeyError` for a dtype outside its table, `RecursionError`, Python's
`ValueError` for an integer of more than 4300 digits, a `ValueError` from a memoryview
copy) escapes the library: a crash, answered `errored` with the traceback.
"""

import hashlib
import importlib.metadata
import json
import math
import mmap
import sys
import traceback

import marshmallow
from pure_safetensors import SafeTensors
from pure_safetensors.exc import SafeTensorEmptyFileError, SafeTensorError, SafeTensorHeaderError
from pure_safetensors.safetensors import dtypes as LIBRARY_DTYPES

VERSION = importlib.metadata.version("pure-safetensors")
DTYPES = sorted(LIBRARY_DTYPES)  # BOOL, BF16, U8..U64, I8..I64, F16, F32, F64
HASH_CHUNK = 1 << 24

# SafeTensorError messages (the start of each) -> (stage, code); None: no stage fits.
LIBRARY_MESSAGES = (
    ("header too small", ("prefix", "file_too_small")),
    ("header size cannot be less than 10", ("prefix", None)),
    ("header length inconsistent with size inside header", ("prefix", "header_length_exceeds_file")),
    ("size too large", ("prefix", "header_too_large")),
    ("actual file too short", ("coverage", "data_truncated")),
    ("last tensor position", None),  # its own 2**40 cap on the file's size
)
STAGE_ORDER = ["prefix", "encoding", "syntax", "structure", "layout", "coverage", "write"]
CODE_STAGE = {
    "header_not_object": "structure", "invalid_metadata": "structure",
    "invalid_tensor_entry": "structure", "invalid_dtype": "structure",
    "invalid_shape": "structure", "invalid_offsets": "structure",
    "invalid_offset_range": "layout", "reserved_tensor_name": "write",
}
FIELD_CODES = {"dtype": "invalid_dtype", "shape": "invalid_shape", "data_offsets": "invalid_offsets"}


def jsonable(value):
    """The library's value as JSON, for the `raw` field."""
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


def message_of(error):
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def crash(error, where):
    return {"result": "errored", "message": message_of(error),
            "context": {"where": where, "traceback": traceback.format_exc()}}


def leaves(messages, path=()):
    """(path, message) for every error in a marshmallow `messages` tree."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from leaves(value, (*path, key))
    elif isinstance(messages, (list, tuple)):
        for value in messages:
            yield from leaves(value, path)
    else:
        yield path, str(messages)


def schema_code(path, text):
    """The registry code a schema error means, from the field marshmallow names."""
    if text == "cannot have tensor named __metadata__":
        return "reserved_tensor_name"
    if not path or path[0] == "_schema":
        return "header_not_object" if text == "root object must be dictionary" else None
    if path[0] == "metadata":
        return "invalid_metadata"
    if path[0] != "tensors" or len(path) < 3 or path[2] != "value":
        return None
    if len(path) == 3 or path[3] == "_schema" or text == "Missing data for required field.":
        return "invalid_tensor_entry"
    if path[3] == "data_offsets" and text.startswith("tensor end position"):
        return "invalid_offset_range"
    return FIELD_CODES.get(path[3], "invalid_tensor_entry")  # any other field: "Unknown field."


def validation_error(error):
    """A marshmallow ValidationError: the code when every error it holds means one, else
    the earliest stage among them."""
    codes = {schema_code(path, text) for path, text in leaves(error.messages)}
    described = {"message": f"ValidationError: {json.dumps(jsonable(error.messages))}"}
    if None in codes:
        return described
    if len(codes) == 1:
        (code,) = codes
        return {**described, "code": code, "stage": CODE_STAGE[code]}
    described["stage"] = min((CODE_STAGE[c] for c in codes), key=STAGE_ORDER.index)
    return described


def refusal(error):
    """The `error` of a rejected answer, or None when the exception is not a refusal."""
    message = message_of(error)
    if isinstance(error, SafeTensorEmptyFileError):
        return {"message": message, "stage": "prefix", "code": "file_too_small"}
    if isinstance(error, (SafeTensorError, SafeTensorHeaderError)):
        for start, where in LIBRARY_MESSAGES:
            if str(error).startswith(start):
                if where is None:
                    return {"message": message}
                stage, code = where
                return {"message": message, "stage": stage, **({"code": code} if code else {})}
        if " size is wrong, expected " in str(error):
            return {"message": message, "stage": "layout", "code": "tensor_size_mismatch"}
        if str(error).endswith("overlaps with previous structure"):
            return {"message": message, "stage": "layout", "code": "offsets_not_contiguous"}
        return {"message": message}
    if isinstance(error, marshmallow.ValidationError):
        return validation_error(error)
    if isinstance(error, UnicodeDecodeError):
        return {"message": message, "stage": "encoding", "code": "header_invalid_utf8"}
    if isinstance(error, json.JSONDecodeError):
        return {"message": message, "stage": "syntax", "code": "header_invalid_json"}
    return None


def buffer_sha256(buffer):
    digest = hashlib.sha256()
    view = memoryview(buffer)
    for start in range(0, len(view), HASH_CHUNK):
        digest.update(view[start : start + HASH_CHUNK])
    return digest.hexdigest()


def read(path):
    try:
        st = SafeTensors(path, "r")
    except Exception as error:
        refused = refusal(error)
        if refused is not None:
            return {"result": "rejected", "error": refused}
        return crash(error, "SafeTensors(path, 'r')")
    with st:
        data_start = len(st.map.header)  # 8 + N: the library's own header bytes
        metadata, infos = st.metadata, dict(st.tensors)
        raw = {"metadata": metadata,
               "tensors": {name: {"dtype": getattr(t.dtype, "name", repr(t.dtype)), "shape": t.shape,
                                  "start": t.start, "end": t.end} for name, t in infos.items()}}

        def unrepresentable(what):
            return {"result": "accepted", "unrepresentable": what, "raw": jsonable(raw)}

        if metadata is not None and not (
            isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
        ):
            return unrepresentable("metadata that is not null or an object of strings")
        buffers = st.as_buffer()
        tensors = []
        for name, info in infos.items():
            shape = list(info.shape)
            begin, end = info.start - data_start, info.end - data_start
            if not all(is_u64(d) for d in shape):
                return unrepresentable(f"tensor {name!r}: shape {info.shape!r} is not a list of u64")
            if not (is_u64(begin) and is_u64(end)):
                return unrepresentable(f"tensor {name!r}: offsets {begin!r}, {end!r} are not two u64")
            try:
                buffer, _, _ = buffers[name]
                sha256 = buffer_sha256(buffer)
                del buffer
            except Exception as error:
                refused = refusal(error)
                if refused is not None:
                    return {"result": "rejected", "error": refused}
                return crash(error, "SafeTensors.as_buffer()[name]")
            tensors.append({"name": name, "dtype": info.dtype.name, "shape": shape,
                            "dataOffsets": [begin, end], "sha256": sha256})
    return {"result": "accepted", "header": {"metadata": metadata, "tensors": tensors}}


def write(path, tensors, metadata):
    names = [t["name"] for t in tensors]
    if len(set(names)) != len(names):
        return {"result": "skipped",
                "message": "as_buffer().update() takes a dict, which cannot hold two tensors with one name"}
    for t in tensors:
        if t["dtype"] not in LIBRARY_DTYPES:
            return {"result": "skipped",
                    "message": f"pure-safetensors has no DType for {t['dtype']!r} (its table: {', '.join(DTYPES)})"}
    sources = []
    try:
        items = {}
        for t in tensors:
            data = t["data"]
            if data["length"] == 0:
                view = b""
            else:
                with open(data["path"], "rb") as src:
                    mapped = mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ)
                sources.append(mapped)
                view = memoryview(mapped)[data["offset"] : data["offset"] + data["length"]]
            items[t["name"]] = (view, LIBRARY_DTYPES[t["dtype"]], tuple(t["shape"]))
        try:
            with SafeTensors(path, "w+", sparse=False) as st:
                if metadata is not None:
                    st.metadata = metadata
                st.as_buffer().update(items)
        except Exception as error:
            refused = refusal(error)
            if refused is not None:
                return {"result": "rejected", "error": refused}
            return crash(error, "SafeTensors(path, 'w+')")
        finally:
            items.clear()
    finally:
        for mapped in sources:
            try:
                mapped.close()
            except BufferError:
                pass
    return {"result": "written"}


def handle(request):
    cmd = request.get("cmd")
    if cmd == "start":
        return {
            "result": "started", "protocolVersion": 1,
            "implementation": {"name": "pure-safetensors", "version": VERSION, "language": "python",
                               "codebase": "pypi:pure-safetensors"},
            "capabilities": {"read": True, "write": True, "dtypes": DTYPES,
                             "specVersions": ["1.0.0"], "errors": "stages"},
            # It only checks that the file is at least as long as the last tensor's end, and
            # caps 8 + N at 100,000,000 (Settings.maximum_header_size), so N up to 99,999,992.
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
        return {"result": "errored", "message": f"adapter: {message_of(error)}",
                "context": {"traceback": traceback.format_exc()}}
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
