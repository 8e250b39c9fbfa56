#!/usr/bin/env python3
"""Conformance adapter around fastsafetensors (pinned in requirements.txt), without torch.

fastsafetensors loads safetensors files into framework tensors (torch or paddle) through a
"copier" that reads the file into a host or device buffer. Neither framework is installed
here, and `frameworks.get_framework_op` knows only those two, so the adapter drives the
library's own layers below the framework:

Reading: `SafeTensorsMetadata.from_file(path, framework)` (common.py) parses and validates
the header; it is what `SafeTensorsFileLoader.add_filenames` calls. The library's CPU
loading path, the "nogds" copier (`copier/nogds.py`: `new_nogds_file_copier` and its
native `nogds_file_reader`), then reads the data section into a host buffer
(`submit_io`, `finish_io`). Each tensor's bytes are hashed from that buffer at
`base + header_length + data_offsets[0] - base_off`, the address `_get_tensors` gives to
DLPack for the framework tensor. Only the last step, wrapping that address as a
torch/paddle tensor, is not run.

The parser and the copier call four methods of their `framework` argument; `CpuFramework`
supplies them exactly as the torch backend does on CPU (`frameworks/_torch.py`):
`get_dtype_size` is `float(DTYPE_SIZES[dtype])` (the library's own table), the pointer
alignment is 16 (it only sets a flag), and host memory comes from the library's own
`cpu_malloc` / `cpu_free`.

Writing: `saver.plan_shards` + `saver.write_shards` (what `save_sharded` calls) with one
shard path, the target, and a fill function that copies the given bytes into the buffers
the saver hands out (the saver's documented custom-encoder hook; the default fill wraps
torch tensors).

Errors: the library raises bare `Exception`s with fixed tags (HeaderTooSmall,
HeaderTooLarge, InvalidHeaderLength, InvalidOffset, TensorInvalidInfo,
MetadataIncompleteBuffer), `ValueError`s for a bad shape or a dtype outside its `DType`
enum, and lets `json.loads` and the UTF-8 decode raise their own errors. Those are
refusals (`rejected`), mapped to stages (InvalidOffset covers two layout codes, so
errors: "stages"). Anything else (KeyError, TypeError, IndexError, unpacking ValueError,
OverflowError, RecursionError) escapes the parser: a library crash, answered `errored`.
"""

import hashlib
import importlib.metadata
import json
import math
import re
import sys
import traceback

from fastsafetensors import cpp as fstcpp
from fastsafetensors.common import SafeTensorsMetadata
from fastsafetensors.copier.nogds import new_nogds_file_copier
from fastsafetensors.saver import WriteEntry, per_entry_fill, plan_shards, write_shards
from fastsafetensors.st_types import DTYPE_SIZES, Device, DeviceType, DType

VERSION = importlib.metadata.version("fastsafetensors")
# The on-disk tags of the library's DType enum (AUTO is not one). A file holding any
# other tag is refused by DType(...), so F6_*, F8_*FNUZ and C64 cannot be read.
DTYPES = [d.value for d in DType if d is not DType.AUTO]
DEVICE = Device(DeviceType.CPU)
MAX_COPY_BLOCK = 16 * 1024 * 1024 * 1024  # the loader's default max_copy_block_size
CHUNK = 1 << 24


class CpuFramework:
    """The four framework methods the parser and the nogds copier call, as the torch
    backend implements them for a CPU device."""

    def get_device_ptr_align(self):
        return 16  # CUDA_PTR_ALIGN in _torch.py and _paddle.py; only sets .aligned

    def get_dtype_size(self, dtype):
        return float(DTYPE_SIZES[dtype])  # _torch.py: float(DTYPE_SIZES[dtype])

    def alloc_tensor_memory(self, length, dev):
        return fstcpp.gds_device_buffer(fstcpp.cpu_malloc(length), length, False)

    def free_tensor_memory(self, gbuf, dev):
        fstcpp.cpu_free(gbuf.get_base_address())


FRAMEWORK = CpuFramework()
_copier_constructor = None


def copier_constructor():
    """The library's nogds copier for the CPU, with the loader's defaults (16 MiB bounce
    buffers, 16 threads); built once, like a loader's."""
    global _copier_constructor
    if _copier_constructor is None:
        _copier_constructor = new_nogds_file_copier(DEVICE, framework=None)
    return _copier_constructor


def jsonable(value):
    """The library's value as JSON, for the `raw` field."""
    if isinstance(value, DType):
        return value.value
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
    return {"result": "errored", "message": f"{type(error).__name__}: {error}",
            "context": {"where": where, "traceback": traceback.format_exc()}}


def refusal(error, stage=None, code=None):
    out = {"message": f"{type(error).__name__}: {error}"}
    if stage:
        out["stage"] = stage
    if code:
        out["code"] = code
    return {"result": "rejected", "error": out}


# The tags of the bare Exceptions common.py raises -> (stage, code or None).
PREFIX_TAGS = {  # from_fd: f"{filename}: Tag, ..."
    "HeaderTooSmall": ("prefix", "file_too_small"),
    "HeaderTooLarge": ("prefix", "header_too_large"),
    "InvalidHeaderLength": ("prefix", "header_length_exceeds_file"),
    "UnexpectedEOF": ("prefix", None),  # the file ended while reading the header
}
VALIDATE = re.compile(r"^validate\(tensor .*\): (InvalidOffset s|TensorInvalidInfo, e-s)=", re.S)


def classify_read(error, path):
    """rejected for the library's own refusals, errored for anything else."""
    message = str(error)
    if isinstance(error, UnicodeDecodeError):  # string.decode("utf-8") of the header
        return refusal(error, "encoding", "header_invalid_utf8")
    if isinstance(error, json.JSONDecodeError):  # json.loads of the header
        return refusal(error, "syntax", "header_invalid_json")
    if type(error) is ValueError and message.startswith("shape must contain nonnegative integers"):
        return refusal(error, "structure", "invalid_shape")  # TensorFrame.from_buffer
    if type(error) is ValueError and message.endswith(" is not a valid DType"):
        return refusal(error, "structure", "invalid_dtype")  # DType(entry["dtype"])
    if type(error) is Exception:
        prefix = f"{path}: "
        if message.startswith(prefix):
            tag = message[len(prefix):].split(",", 1)[0]
            if tag in PREFIX_TAGS:
                return refusal(error, *PREFIX_TAGS[tag])
        match = VALIDATE.match(message)
        if match and match.group(1) == "InvalidOffset s":  # s != start or e < s
            return refusal(error, "layout")  # invalid_offset_range or offsets_not_contiguous
        if match:  # (e - s) != nbytes
            return refusal(error, "layout", "tensor_size_mismatch")
        if message.startswith("MetadataIncompleteBuffer, "):  # data ends before the last tensor
            return refusal(error, "coverage", "data_truncated")
    return crash(error, "SafeTensorsMetadata.from_file")


def load_and_hash(meta, described):
    """Reads the data section with the library's nogds copier into a host buffer and
    hashes each tensor where `_get_tensors` would point its DLPack tensor."""
    copier = copier_constructor()(meta, DEVICE, FRAMEWORK)
    gbuf = copier.submit_io(False, MAX_COPY_BLOCK)
    try:
        copier.finish_io()  # wait_io without the framework-tensor step
        base = gbuf.get_base_address() + meta.header_length - copier._base_off
        for entry in described:
            begin, end = entry["dataOffsets"]
            digest = hashlib.sha256()
            at = begin
            while at < end:
                length = min(CHUNK, end - at)
                digest.update(fstcpp.read_buffer(base + at, length))
                at += length
            entry["sha256"] = digest.hexdigest()
    finally:
        FRAMEWORK.free_tensor_memory(gbuf, DEVICE)


def read(path):
    try:
        meta = SafeTensorsMetadata.from_file(path, FRAMEWORK)
    except Exception as error:
        return classify_read(error, path)
    raw = {"metadata": meta.metadata,
           "tensors": {name: {"dtype": t.dtype, "shape": t.shape, "data_offsets": t.data_offsets}
                       for name, t in meta.tensors.items()}}

    def unrepresentable(what):
        return {"result": "accepted", "unrepresentable": what, "raw": jsonable(raw)}

    # common.py: self.metadata = ser.get("__metadata__", ""). The empty string is the
    # library's value for absent metadata and None is `null`: both are reported as null.
    metadata = meta.metadata
    if metadata == "" or metadata is None:
        metadata = None
    elif not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        return unrepresentable(f"metadata {metadata!r} is not null or an object of strings")
    else:
        metadata = dict(metadata)
    described = []
    for name, t in meta.tensors.items():
        if not all(is_u64(d) for d in t.shape):
            return unrepresentable(f"tensor {name!r}: shape {t.shape!r} is not a list of u64")
        if len(t.data_offsets) != 2 or not all(is_u64(o) for o in t.data_offsets):
            return unrepresentable(f"tensor {name!r}: data_offsets {t.data_offsets!r} "
                                   "are not two u64")
        described.append({"name": name, "dtype": t.dtype.value, "shape": list(t.shape),
                          "dataOffsets": list(t.data_offsets)})
    try:
        load_and_hash(meta, described)
    except Exception as error:
        return crash(error, "NoGdsFileCopier")
    return {"result": "accepted", "header": {"metadata": metadata, "tensors": described}}


def classify_write(error):
    message = str(error)
    if isinstance(error, ValueError):
        if message.endswith(" is not a valid DType") or message.endswith(
                ": AUTO is not an on-disk dtype"):
            return refusal(error, "structure", "invalid_dtype")
        if message.startswith("duplicate or reserved tensor name: "):
            name = message[len("duplicate or reserved tensor name: "):]
            if name == "__metadata__":
                return refusal(error, "write", "reserved_tensor_name")
            return refusal(error, "structure", "duplicate_key")
        if message.startswith("__metadata__ entries must be strings"):
            return refusal(error, "structure", "invalid_metadata")
        if ": shape must be nonnegative: " in message:
            return refusal(error, "structure", "invalid_shape")
        if message.endswith(": F4 requires an even last dimension"):
            return refusal(error, "layout", "misaligned_subbyte")
        if re.search(r" bytes, not \d+$", message):  # _check_entry: size against nbytes
            return refusal(error, "layout", "tensor_size_mismatch")
    return crash(error, "fastsafetensors.saver")


def write(request):
    path, metadata = request["path"], request.get("metadata")
    try:
        entries = [WriteEntry(t["name"], DType(t["dtype"]), list(t["shape"]), t["data"]["length"],
                              source=t["data"]) for t in request["tensors"]]
        plans = plan_shards(entries, [path], metadata=metadata)
    except Exception as error:
        return classify_write(error)

    def fill(buf, entry):
        data = entry.source
        with open(data["path"], "rb") as file:
            file.seek(data["offset"])
            if file.readinto(buf) != data["length"]:
                raise OSError(f"short read of {data['path']}")

    try:
        write_shards(plans, per_entry_fill(fill, num_threads=1))
    except Exception as error:
        return classify_write(error)
    return {"result": "written"}


def handle(request):
    cmd = request.get("cmd")
    if cmd == "start":
        return {
            "result": "started", "protocolVersion": 1,
            "implementation": {"name": "fastsafetensors", "version": VERSION,
                               "language": "python",
                               "codebase": "foundation-model-stack/fastsafetensors",
                               "homepage": "https://github.com/foundation-model-stack/fastsafetensors",
                               "issues": "https://github.com/foundation-model-stack/fastsafetensors/issues"},
            "capabilities": {"read": True, "write": True, "dtypes": DTYPES,
                             "specVersions": ["1.0.0"], "errors": "stages"},
            # Bytes after the last tensor are allowed ("alignment padding"); the header
            # length is capped at 100,000,000 (n > 100000000 is HeaderTooLarge).
            "choices": {"trailing_bytes": "ignore", "max_header_length": "100000000"},
        }
    if cmd == "shutdown":
        return {"result": "bye"}
    try:
        if cmd == "read":
            return read(request["path"])
        if cmd == "write":
            return write(request)
    except RecursionError as error:
        return crash(error, cmd)
    except Exception as error:  # not the library's: the adapter failed
        return {"result": "errored", "message": f"adapter: {type(error).__name__}: {error}",
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
