#!/usr/bin/env python3
"""A minimal safetensors reader/writer and conformance adapter, standard library only.

Run with no arguments for long-lived mode (NDJSON requests on stdin, responses on stdout),
or one-shot: `adapter.py start`, `adapter.py read FILE`, `adapter.py write REQUEST.json`.
Requirement IDs (PREFIX-2, JSON-6, ...) refer to spec/v1/spec.md.
"""

import hashlib
import json
import mmap
import os
import re
import sys
import tempfile

MAX_HEADER = 100_000_000  # PREFIX-2, WRITE-9
MAX_DEPTH = 64  # JSON-5
U64_MAX = 2**64 - 1  # JSON-7
# Tag -> bits per element, in canonical dtype order (spec 7.1).
DTYPES = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
    "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64,
    "I64": 64, "U64": 64,
}
RANK = {tag: i for i, tag in enumerate(DTYPES)}
STAGES = {
    "file_too_small": "prefix", "header_too_large": "prefix",
    "header_length_exceeds_file": "prefix", "header_invalid_utf8": "encoding",
    "header_invalid_json": "syntax", "header_too_deep": "syntax", "invalid_string": "syntax",
    "header_not_object": "structure", "duplicate_key": "structure",
    "invalid_metadata": "structure", "invalid_tensor_entry": "structure",
    "invalid_dtype": "structure", "invalid_shape": "structure", "invalid_offsets": "structure",
    "invalid_offset_range": "layout", "offsets_not_contiguous": "layout",
    "misaligned_subbyte": "layout", "tensor_size_mismatch": "layout",
    "trailing_bytes": "coverage", "data_truncated": "coverage", "reserved_tensor_name": "write",
}
SURROGATE = re.compile("[\ud800-\udfff]")


class SafetensorsError(Exception):
    """Malformed input, with a registry code (spec/v1/errors.json)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Obj(list):
    """A JSON object as its (key, value) pairs in document order, duplicates kept (JSON-10)."""


class BadNumber(str):
    """A number outside the header's subset (JSON-6, JSON-7); kept so that the structure
    stage can report it with the code of the field that holds it."""


def parse_int(text):
    # Python ints are exact (JSON-8); the length test keeps int() away from huge digit strings.
    if text.startswith("-") or len(text) > 20 or int(text) > U64_MAX:
        return BadNumber(text)
    return int(text)


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")  # json accepts NaN and Infinity by default


def is_u64(value):
    return type(value) is int  # bool is a subclass of int; BadNumber is a str


def check_syntax(value, depth):
    """Walks the parsed value in document order for the syntax rules json does not enforce:
    nesting depth (JSON-5) and lone surrogate escapes (JSON-4)."""
    if isinstance(value, list):  # an Obj is a list of pairs
        if depth > MAX_DEPTH:
            raise SafetensorsError("header_too_deep", f"nesting deeper than {MAX_DEPTH} levels")
        for item in value:
            if isinstance(value, Obj):
                key, item = item
                check_syntax(key, depth)
            check_syntax(item, depth + 1)
    elif type(value) is str and SURROGATE.search(value):
        raise SafetensorsError("invalid_string", "a string contains a lone surrogate escape")


def lone_surrogate_at(token):
    """The offset in a string token's raw text of its first lone surrogate escape (JSON-4),
    or None. Works on the text itself, so a token cut short by the end of the header or
    followed by a malformed escape is judged too: a high surrogate escape not immediately
    followed by a low surrogate escape is lone, whatever comes next."""
    high = None  # offset of a high surrogate escape awaiting its low half
    for match in re.finditer(r"\\(?:u([0-9a-fA-F]{4})|.?)", token, re.S):
        code = int(match.group(1), 16) if match.group(1) else -1
        if high is not None:
            if match.start() != high + 6 or not 0xDC00 <= code <= 0xDFFF:
                return high
            high = None
        elif 0xDC00 <= code <= 0xDFFF:
            return match.start()
        elif 0xD800 <= code <= 0xDBFF:
            high = match.start()
    return high


def syntax_error_before(text, end):
    """json stops at the first grammar error; a depth or lone-surrogate error earlier in the
    text must win (ERR-3). Scans the tokens before offset end for them, counting brackets
    outside strings; the string the grammar error is in may end after it, or not at all.
    NaN and Infinity are found here too, as json does not say where it met them."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]|NaN|-?Infinity', text, re.S):
        token = match.group()
        if match.start() >= end:
            break
        if token in ("NaN", "Infinity", "-Infinity"):  # json takes them, JSON does not
            return SafetensorsError("header_invalid_json", f"{token} is not JSON")
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return SafetensorsError("header_too_deep", f"nesting deeper than {MAX_DEPTH} levels")
        elif token in "]}":
            depth -= 1
        else:
            at = lone_surrogate_at(token)
            if at is not None and match.start() + at < end:
                return SafetensorsError("invalid_string", "a string contains a lone surrogate escape")
    return None


def parse_header(text):
    """Parses the header text: syntax stage (JSON-1..JSON-5), then structure (HDR-*, META-*)."""
    try:
        root = json.loads(text, object_pairs_hook=Obj, parse_int=parse_int,
                          parse_float=BadNumber, parse_constant=reject_constant)
    except RecursionError:  # far deeper than 64 levels, unless an error comes first
        earlier = syntax_error_before(text, len(text))
        raise earlier or SafetensorsError("header_too_deep", "nesting too deep") from None
    except ValueError as error:
        end = getattr(error, "pos", len(text))  # reject_constant's error has no position
        if getattr(error, "msg", "").startswith("Unterminated string"):
            end = len(text)  # json points at the opening quote; the text ends too early
        earlier = syntax_error_before(text, end)
        raise earlier or SafetensorsError("header_invalid_json", f"invalid JSON: {error}") from None
    check_syntax(root, 1)
    if not isinstance(root, Obj):
        raise SafetensorsError("header_not_object", "the header is not a JSON object (HDR-1)")
    # Structure: report the first error in document order (ERR-3).
    metadata, tensors, seen = None, [], set()
    for name, value in root:
        if name in seen:
            raise SafetensorsError("duplicate_key", f"duplicate key {name!r} in the header")
        seen.add(name)
        if name == "__metadata__":
            metadata = parse_metadata(value)
        else:
            tensors.append(parse_entry(name, value))
    return metadata, tensors


def parse_metadata(value):
    if value is None:
        return None  # META-2: null is absent metadata
    if not isinstance(value, Obj):
        raise SafetensorsError("invalid_metadata", "__metadata__ is not null or an object")
    metadata = {}
    for key, item in value:
        if key in metadata:
            raise SafetensorsError("duplicate_key", f"duplicate metadata key {key!r}")
        if type(item) is not str:  # a BadNumber is a str subclass, not a string
            raise SafetensorsError("invalid_metadata", f"metadata value of {key!r} is not a string")
        metadata[key] = item
    return metadata


def parse_entry(name, value):
    if not isinstance(value, Obj):
        raise SafetensorsError("invalid_tensor_entry", f"entry {name!r} is not an object")
    fields = {}
    for key, item in value:
        if key in fields:
            raise SafetensorsError("duplicate_key", f"duplicate field {key!r} in entry {name!r}")
        if key == "dtype" and (type(item) is not str or item not in DTYPES):
            raise SafetensorsError("invalid_dtype", f"entry {name!r} has an unknown dtype")
        if key == "shape" and not (type(item) is list and all(map(is_u64, item))):
            raise SafetensorsError("invalid_shape", f"entry {name!r} has an invalid shape")
        if key == "data_offsets" and not (
            type(item) is list and len(item) == 2 and all(map(is_u64, item))
        ):
            raise SafetensorsError("invalid_offsets", f"entry {name!r} has invalid data_offsets")
        if key not in ("dtype", "shape", "data_offsets"):
            raise SafetensorsError("invalid_tensor_entry", f"entry {name!r} has unknown field {key!r}")
        fields[key] = item
    if len(fields) != 3:
        raise SafetensorsError("invalid_tensor_entry", f"entry {name!r} lacks a required field")
    return {"name": name, **fields}


def byte_size(dtype, shape, cap):
    """numel * bits / 8 (SIZE-1); None if that is not whole bytes (SIZE-2); cap + 1 if it
    exceeds cap. Products are clamped so huge shapes cost no big-integer work (LIMIT-2)."""
    bits = DTYPES[dtype]
    low = bits % 8  # numel * bits mod 8, without computing numel
    for dim in shape:
        low = low * dim % 8
        bits = min(bits * dim, 8 * (cap + 1))
    return None if low else bits // 8


def check_layout(tensors, data_length):
    """Layout stage in layout order (OFFSET-2, ERR-4), then coverage (OFFSET-5, OFFSET-6)."""
    tensors.sort(key=lambda t: (*t["data_offsets"], t["name"].encode("utf-8")))
    cursor = 0
    for t in tensors:
        begin, end = t["data_offsets"]
        if end < begin:
            raise SafetensorsError("invalid_offset_range", f"tensor {t['name']!r}: end < begin")
        if begin != cursor:
            raise SafetensorsError("offsets_not_contiguous", f"tensor {t['name']!r} begins at {begin}, expected {cursor}")
        size = byte_size(t["dtype"], t["shape"], end - begin)
        if size is None:
            raise SafetensorsError("misaligned_subbyte", f"tensor {t['name']!r} is not whole bytes")
        if size != end - begin:
            need = size if size <= end - begin else f"more than {end - begin}"
            raise SafetensorsError("tensor_size_mismatch", f"tensor {t['name']!r} spans {end - begin} bytes, its shape needs {need}")
        cursor = end
    if data_length > cursor:
        raise SafetensorsError("trailing_bytes", f"{data_length - cursor} bytes after the last tensor")
    if data_length < cursor:
        raise SafetensorsError("data_truncated", f"data buffer is {data_length} bytes, tensors need {cursor}")


def sha256_of(file, start, length):
    """Hashes length bytes at start, mapping 64 MiB of the file at a time: no copies, and
    resident memory stays bounded however large the tensor is."""
    digest = hashlib.sha256()
    end, at = start + length, start - start % mmap.ALLOCATIONGRANULARITY
    while at < end:
        size = min(1 << 26, end - at)
        with mmap.mmap(file.fileno(), size, offset=at, access=mmap.ACCESS_READ) as window:
            with memoryview(window) as view:
                digest.update(view[max(start - at, 0) :])
        at += size
    return digest.hexdigest()


def read_file(path):
    """Reads and validates a file; returns (metadata, tensors) or raises SafetensorsError."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size < 8:
            raise SafetensorsError("file_too_small", f"file is {size} bytes, shorter than the prefix")
        n = int.from_bytes(file.read(8), "little")
        if n > MAX_HEADER:
            raise SafetensorsError("header_too_large", f"header length {n} exceeds {MAX_HEADER}")
        if 8 + n > size:
            raise SafetensorsError("header_length_exceeds_file", f"header length {n} exceeds the file")
        try:
            text = file.read(n).decode("utf-8")  # strict: no replacement, BOM kept (ENC-3)
        except UnicodeDecodeError as error:
            raise SafetensorsError("header_invalid_utf8", f"header is not UTF-8: {error}") from None
        metadata, tensors = parse_header(text)
        check_layout(tensors, size - 8 - n)
        for t in tensors:
            begin, end = t.pop("data_offsets")
            t["dataOffsets"] = [begin, end]
            t["sha256"] = sha256_of(file, 8 + n + begin, end - begin)
    return metadata, tensors


def header_json(value):
    """Compact JSON with minimal escaping (WRITE-4, WRITE-6): json's ensure_ascii=False
    escaping is exactly the spec's, with lowercase \\u00XX."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_file(path, tensors, metadata):
    """Writes the canonical file (WRITE-3..WRITE-8) atomically (WRITE-10)."""
    names = set()
    for t in tensors:
        name, dtype, shape, length = t["name"], t["dtype"], t["shape"], t["data"]["length"]
        if SURROGATE.search(name):
            raise SafetensorsError("invalid_string", "a tensor name contains a lone surrogate")
        if name == "__metadata__":
            raise SafetensorsError("reserved_tensor_name", "a tensor cannot be named __metadata__")
        if name in names:
            raise SafetensorsError("duplicate_key", f"two tensors are named {name!r}")
        names.add(name)
        if dtype not in DTYPES:
            raise SafetensorsError("invalid_dtype", f"unknown dtype {dtype!r}")
        if not all(is_u64(d) and 0 <= d <= U64_MAX for d in shape):
            raise SafetensorsError("invalid_shape", f"tensor {name!r} has an invalid shape")
        size = byte_size(dtype, shape, length)
        if size is None:
            raise SafetensorsError("misaligned_subbyte", f"tensor {name!r} is not whole bytes")
        if size != length:
            raise SafetensorsError("tensor_size_mismatch", f"tensor {name!r} has {length} bytes, not what its shape needs")
    if metadata is not None:
        for key, value in metadata.items():
            if type(value) is not str:
                raise SafetensorsError("invalid_metadata", f"metadata value of {key!r} is not a string")
            if SURROGATE.search(key) or SURROGATE.search(value):
                raise SafetensorsError("invalid_string", "metadata contains a lone surrogate")
    ordered = sorted(tensors, key=lambda t: (-RANK[t["dtype"]], t["name"].encode("utf-8")))
    parts, offset = [], 0
    if metadata is not None:
        items = sorted(metadata.items(), key=lambda kv: kv[0].encode("utf-8"))
        parts.append(header_json("__metadata__") + ":{" + ",".join(
            header_json(k) + ":" + header_json(v) for k, v in items) + "}")
    for t in ordered:
        end = offset + t["data"]["length"]
        parts.append(header_json(t["name"]) + ":" + header_json(
            {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [offset, end]}))
        offset = end
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    header += b" " * (-len(header) % 8)  # WRITE-7
    if len(header) > MAX_HEADER:
        raise SafetensorsError("header_too_large", f"header would be {len(header)} bytes")
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(len(header).to_bytes(8, "little") + header)
            for t in ordered:
                with open(t["data"]["path"], "rb") as src:
                    src.seek(t["data"]["offset"])
                    remaining = t["data"]["length"]
                    while remaining > 0:
                        chunk = src.read(min(remaining, 1 << 20))
                        if not chunk:
                            raise OSError(f"{t['data']['path']} ends before the tensor's data")
                        out.write(chunk)
                        remaining -= len(chunk)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def handle(request):
    """Answers one protocol request (without seq)."""
    cmd = request.get("cmd")
    if cmd == "start":
        return {
            "result": "started", "protocolVersion": 1,
            "implementation": {"name": "python-example", "version": "1.0.0", "language": "python"},
            "capabilities": {"read": True, "write": True, "dtypes": list(DTYPES),
                             "specVersions": ["1.0.0"], "errors": "codes"},
            "choices": {"trailing_bytes": "reject", "max_header_length": str(MAX_HEADER)},
        }
    if cmd == "shutdown":
        return {"result": "bye"}
    try:
        if cmd == "read":
            metadata, tensors = read_file(request["path"])
            return {"result": "accepted", "header": {"metadata": metadata, "tensors": tensors}}
        if cmd == "write":
            write_file(request["path"], request["tensors"], request["metadata"])
            return {"result": "written"}
    except SafetensorsError as error:
        return {"result": "rejected",
                "error": {"code": error.code, "stage": STAGES[error.code], "message": str(error)}}
    except Exception as error:  # the adapter itself failed: the harness counts a crash
        return {"result": "errored", "message": f"{type(error).__name__}: {error}"}
    return {"result": "errored", "message": f"unknown command {cmd!r}"}


def emit(response):
    sys.stdout.write(json.dumps(response) + "\n")
    sys.stdout.flush()


def main(argv):
    if argv:  # one-shot mode
        cmd = argv[0]
        if cmd == "write" and len(argv) == 2:
            with open(argv[1], encoding="utf-8") as file:
                request = json.load(file)
        elif cmd in ("start", "read") and len(argv) == (1 if cmd == "start" else 2):
            request = {"cmd": cmd, "path": argv[-1]}
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
