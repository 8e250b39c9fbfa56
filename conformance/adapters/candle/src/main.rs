//! Conformance adapter around `candle_core::safetensors` (candle-core pinned in Cargo.toml,
//! CPU only).
//!
//! Long-lived mode (no arguments): NDJSON requests on stdin, responses on stdout.
//! One-shot mode: `start`, `read FILE`, `write REQUEST.json` or `decode FILE TENSOR`, one
//! response line each.
//!
//! Reading memory-maps the file (as `MmapedSafetensors` does) and opens it with candle's
//! `SliceSafetensors`, then loads every tensor onto the CPU with `Load::load`, the call
//! behind `MmapedSafetensors::load` and `safetensors::load`. Names, dtypes, shapes and bytes
//! are those of the loaded candle `Tensor`. Writing builds tensors with
//! `Tensor::from_raw_buffer` and calls `candle_core::safetensors::save`. Decoding widens a
//! loaded tensor with `Tensor::to_dtype(DType::F32)`.
//!
//! candle's safetensors module exposes no `__metadata__` and no data offsets: the adapter
//! reports `metadata: null`, and derives each offset exactly from where the view candle hands
//! back lies in the mapped file (see README.md).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, Write};

use candle_core::safetensors::{Load, SliceSafetensors};
use candle_core::{CpuStorage, DType, Device, Error, Storage, Tensor};
use safetensors::tensor::{Dtype, SafeTensorError};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The candle-core version this adapter is pinned to (Cargo.toml).
const CANDLE_VERSION: &str = "0.11.1";

/// The tags candle loads: `TryFrom<safetensors::Dtype> for DType`, plus U16, which `load`
/// widens to U32. BOOL, I8, U64, C64, F8_E5M2 and the FNUZ tags are refused.
const DTYPES: [&str; 15] = [
    "U8", "U16", "U32", "I16", "I32", "I64", "BF16", "F16", "F32", "F64", "F8_E4M3",
    "F6_E2M3", "F6_E3M2", "F4", "F8_E8M0",
];

/// A request the adapter could not carry out for a reason that is not the library's
/// verdict on the input (an I/O error, a malformed request): the harness counts a crash.
struct AdapterFailure(String);

impl<E: std::fmt::Display> From<E> for AdapterFailure {
    fn from(error: E) -> Self {
        AdapterFailure(error.to_string())
    }
}

type Answer = Result<Value, AdapterFailure>;

/// The error under candle's path, context and backtrace wrappers.
fn core(error: &Error) -> &Error {
    match error {
        Error::WithPath { inner, .. }
        | Error::WithBacktrace { inner, .. }
        | Error::Context { inner, .. } => core(inner),
        other => other,
    }
}

/// A candle error's text without the backtrace candle attaches when `RUST_BACKTRACE` is set.
fn message(error: &Error) -> String {
    match error {
        Error::WithBacktrace { inner, .. } => message(inner),
        Error::WithPath { inner, path } => format!("path: {path:?} {}", message(inner)),
        Error::Context { inner, context } => format!("{context}\n{}", message(inner)),
        other => other.to_string(),
    }
}

/// The registry stage and, where the variant means exactly one code, the code, of an
/// error of the safetensors crate candle parses with (the same mapping as official-rust).
fn classify(error: &SafeTensorError) -> Option<(&'static str, Option<&'static str>)> {
    use serde_json::error::Category;
    use SafeTensorError::*;
    Some(match error {
        HeaderTooSmall => ("prefix", Some("file_too_small")),
        HeaderTooLarge => ("prefix", Some("header_too_large")),
        InvalidHeaderLength => ("prefix", Some("header_length_exceeds_file")),
        InvalidHeader(_) => ("encoding", Some("header_invalid_utf8")),
        InvalidHeaderDeserialization(e) => match e.classify() {
            Category::Syntax | Category::Eof => ("syntax", None),
            Category::Data => ("structure", None),
            Category::Io => return None,
        },
        // end < begin, a gap or an overlap: two codes.
        InvalidOffset(_) => ("layout", None),
        // SIZE-4: an overflow is a size mismatch.
        ValidationOverflow | TensorInvalidInfo | InvalidTensorView(..) => {
            ("layout", Some("tensor_size_mismatch"))
        }
        MisalignedSlice => ("layout", Some("misaligned_subbyte")),
        // Trailing bytes or a truncated buffer: two codes.
        MetadataIncompleteBuffer => ("coverage", None),
        TensorNotFound(_) | IoError(_) | JsonError(_) => return None,
    })
}

/// The answer to a candle error: `rejected` with a stage for the crate's refusals and for
/// candle's refusal of a shape that does not match the bytes, `skipped` for a dtype candle
/// has no type for, `errored` for anything else.
fn refused(error: Error) -> Answer {
    let (stage, code) = match core(&error) {
        Error::UnsupportedSafeTensorDtype(dtype) => {
            let message = format!("candle has no dtype for {dtype} ({})", message(&error));
            return Ok(json!({ "result": "skipped", "message": message }));
        }
        Error::SafeTensor(inner) => match classify(inner) {
            Some(mapped) => mapped,
            None => return Err(AdapterFailure(format!("unexpected crate error: {}", message(&error)))),
        },
        // Tensor::from_raw_buffer: the shape's element count is not the buffer's (SIZE-3).
        Error::ShapeMismatch { .. } => ("layout", Some("tensor_size_mismatch")),
        _ => return Err(AdapterFailure(format!("unexpected candle error: {}", message(&error)))),
    };
    let mut body = json!({ "message": message(&error), "stage": stage });
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    Ok(json!({ "result": "rejected", "error": body }))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bytes of a CPU storage as candle holds them in memory (little-endian on the
/// platforms candle supports), without a copy.
fn storage_bytes(storage: &CpuStorage) -> &[u8] {
    fn raw<T>(values: &[T]) -> &[u8] {
        // SAFETY: every element type candle stores is plain old data without padding.
        unsafe {
            std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values))
        }
    }
    match storage {
        CpuStorage::U8(v) => v,
        CpuStorage::U32(v) => raw(v),
        CpuStorage::I16(v) => raw(v),
        CpuStorage::I32(v) => raw(v),
        CpuStorage::I64(v) => raw(v),
        CpuStorage::BF16(v) => raw(v),
        CpuStorage::F16(v) => raw(v),
        CpuStorage::F32(v) => raw(v),
        CpuStorage::F64(v) => raw(v),
        CpuStorage::F8E4M3(v) => raw(v),
        CpuStorage::F6E2M3(v) | CpuStorage::F6E3M2(v) | CpuStorage::F4(v) | CpuStorage::F8E8M0(v) => v,
    }
}

/// The SHA-256 of a freshly loaded (so contiguous, unsliced) CPU tensor's bytes.
fn tensor_sha256(tensor: &Tensor) -> Result<String, AdapterFailure> {
    let (storage, layout) = tensor.storage_and_layout();
    if !layout.is_contiguous() || layout.start_offset() != 0 {
        return Err(AdapterFailure("a loaded tensor is not contiguous from 0".into()));
    }
    match &*storage {
        Storage::Cpu(cpu) => Ok(sha256_hex(storage_bytes(cpu))),
        _ => Err(AdapterFailure("a tensor loaded on the CPU is not in CPU storage".into())),
    }
}

/// Memory-maps a file, as `MmapedSafetensors::new` does; `None` for an empty file, which
/// Linux cannot map. Mapping keeps gigabyte files out of the adapter's own allocations.
fn map_file(path: &str) -> Result<Option<memmap2::Mmap>, AdapterFailure> {
    let file = File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: the harness does not modify the file while the adapter uses it.
    Ok(Some(unsafe { memmap2::Mmap::map(&file)? }))
}

fn read(path: &str) -> Answer {
    let map = map_file(path)?;
    let buffer: &[u8] = map.as_deref().unwrap_or(&[]);
    let file = match SliceSafetensors::new(buffer) {
        Ok(file) => file,
        Err(error) => return refused(error),
    };
    // candle exposes no offsets. The crate it parses with hands out each view as a slice of
    // the buffer it was given, starting 8 + N bytes in (N: the little-endian u64 prefix, which
    // the crate has just accepted), so the slice's address gives the offsets exactly.
    let prefix: [u8; 8] = buffer[..8].try_into()?;
    let data_start = 8 + usize::try_from(u64::from_le_bytes(prefix))?;
    let mut out = Vec::new();
    for (name, view) in file.tensors() {
        let begin = view.data().as_ptr() as usize - buffer.as_ptr() as usize - data_start;
        let end = begin + view.data().len();
        // One tensor at a time: each is copied into candle's own CPU storage.
        let tensor = match view.load(&Device::Cpu) {
            Ok(tensor) => tensor,
            Err(error) => return refused(error),
        };
        out.push(json!({
            "name": name,
            "dtype": Dtype::from(tensor.dtype()).to_string(),
            "shape": tensor.dims(),
            "dataOffsets": [begin, end],
            "sha256": tensor_sha256(&tensor)?,
        }));
    }
    Ok(json!({ "result": "accepted", "header": { "metadata": null, "tensors": out } }))
}

/// The F32 digest the decode check asks for: the loaded tensor widened with candle's own
/// `to_dtype`, every NaN written as 0x7FC00000.
fn decode(path: &str, name: &str) -> Answer {
    let map = map_file(path)?;
    let buffer: &[u8] = map.as_deref().unwrap_or(&[]);
    let file = match SliceSafetensors::new(buffer) {
        Ok(file) => file,
        Err(error) => return refused(error),
    };
    let tensor = match file.load(name, &Device::Cpu) {
        Ok(tensor) => tensor,
        Err(error) => return refused(error),
    };
    let widened = match tensor.to_dtype(DType::F32) {
        Ok(widened) => widened,
        Err(error) => {
            let message = format!("candle cannot convert {:?} to F32: {}", tensor.dtype(), message(&error));
            return Ok(json!({ "result": "skipped", "message": message }));
        }
    };
    let mut hasher = Sha256::new();
    for value in widened.flatten_all()?.to_vec1::<f32>()? {
        let bits = if value.is_nan() { 0x7FC0_0000 } else { value.to_bits() };
        hasher.update(bits.to_le_bytes());
    }
    let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(json!({ "result": "decoded", "sha256F32": digest }))
}

fn field<'a>(value: &'a Value, key: &str) -> Result<&'a Value, AdapterFailure> {
    value
        .get(key)
        .ok_or_else(|| AdapterFailure(format!("request lacks {key}")))
}

fn as_usize(value: &Value) -> Result<usize, AdapterFailure> {
    let n = value
        .as_u64()
        .ok_or_else(|| AdapterFailure(format!("{value} is not a u64")))?;
    Ok(usize::try_from(n)?)
}

fn skipped(message: String) -> Answer {
    Ok(json!({ "result": "skipped", "message": message }))
}

fn write(request: &Value) -> Answer {
    let path = field(request, "path")?
        .as_str()
        .ok_or("path is not a string")?;
    // `save(&HashMap<K, Tensor>, path)` takes no metadata (it passes None to the crate).
    if !field(request, "metadata")?.is_null() {
        return skipped("candle_core::safetensors::save takes no metadata".into());
    }
    let specs = field(request, "tensors")?
        .as_array()
        .ok_or("tensors is not an array")?;
    let mut tensors: HashMap<String, Tensor> = HashMap::with_capacity(specs.len());
    for spec in specs {
        let name = field(spec, "name")?
            .as_str()
            .ok_or("name is not a string")?;
        if tensors.contains_key(name) {
            return skipped(format!("save takes a HashMap, which cannot hold the name {name:?} twice"));
        }
        // candle names dtypes by its own enum; a tag reaches it through the crate's Dtype and
        // candle's TryFrom, as a header's tag does when a file is loaded.
        let dtype: Dtype = match serde_json::from_value(field(spec, "dtype")?.clone()) {
            Ok(dtype) => dtype,
            Err(error) => {
                let message = format!("invalid dtype: {error}");
                return Ok(json!({ "result": "rejected", "error": { "message": message, "stage": "structure", "code": "invalid_dtype" } }));
            }
        };
        let dtype = match DType::try_from(dtype) {
            Ok(dtype) => dtype,
            Err(error) => return refused(error),
        };
        let shape = field(spec, "shape")?
            .as_array()
            .ok_or("shape is not an array")?
            .iter()
            .map(as_usize)
            .collect::<Result<Vec<usize>, AdapterFailure>>()?;
        let data = field(spec, "data")?;
        let source = map_file(field(data, "path")?.as_str().ok_or("data.path is not a string")?)?;
        let offset = as_usize(field(data, "offset")?)?;
        let end = offset
            .checked_add(as_usize(field(data, "length")?)?)
            .ok_or("data span overflows")?;
        let bytes = source
            .as_deref()
            .unwrap_or(&[])
            .get(offset..end)
            .ok_or("data span is past the end of its file")?;
        match Tensor::from_raw_buffer(bytes, dtype, &shape, &Device::Cpu) {
            Ok(tensor) => tensors.insert(name.to_string(), tensor),
            Err(error) => return refused(error),
        };
    }
    match candle_core::safetensors::save(&tensors, path) {
        Ok(()) => Ok(json!({ "result": "written" })),
        Err(error) => refused(error),
    }
}

fn handle(request: &Value) -> Answer {
    let path = || request.get("path").and_then(Value::as_str).ok_or("request lacks path");
    match request.get("cmd").and_then(Value::as_str) {
        Some("start") => Ok(json!({
            "result": "started",
            "protocolVersion": 1,
            "implementation": {
                "name": "candle-core",
                "version": CANDLE_VERSION,
                "language": "rust",
                "homepage": "https://github.com/huggingface/candle",
                "issues": "https://github.com/huggingface/candle/issues",
                "codebase": "huggingface/candle",
            },
            "capabilities": {
                "read": true, "write": true, "decode": true, "dtypes": DTYPES,
                "specVersions": ["1.0.0"], "errors": "stages",
            },
            "choices": { "trailing_bytes": "reject", "max_header_length": "100000000" },
        })),
        Some("shutdown") => Ok(json!({ "result": "bye" })),
        Some("read") => read(path()?),
        Some("decode") => {
            let tensor = request.get("tensor").and_then(Value::as_str).ok_or("request lacks tensor")?;
            decode(path()?, tensor)
        }
        Some("write") => write(request),
        other => Err(AdapterFailure(format!("unknown command {other:?}"))),
    }
}

/// Runs a request; a panic inside candle becomes an `errored` answer (which the harness
/// counts as a crash) instead of ending the long-lived process. The default panic hook
/// still prints the message and location to stderr.
fn answer(request: &Value) -> Value {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(request)));
    match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(AdapterFailure(message))) => json!({ "result": "errored", "message": message }),
        Err(payload) => {
            let panic = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            // The first line: an unwrapped candle error carries its backtrace on the next ones.
            let first = panic.lines().next().unwrap_or_default();
            json!({ "result": "errored", "message": format!("candle panicked: {first}") })
        }
    }
}

/// The answer to a request line serde_json cannot parse. A lone surrogate escape is valid
/// JSON but cannot be held in a Rust `String`, so candle's API (which takes `String` names)
/// refuses it by type: `invalid_string`.
fn unparsable(error: &serde_json::Error) -> Value {
    let text = error.to_string();
    if text.contains("surrogate") || text.contains("hex escape") {
        let message = format!("a Rust string cannot hold a lone surrogate, so candle's API cannot be given it ({error})");
        return json!({ "result": "rejected", "error": { "message": message, "stage": "syntax", "code": "invalid_string" } });
    }
    json!({ "result": "errored", "message": format!("request is not JSON: {error}") })
}

/// The `seq` of a request line that does not parse, read from its `"seq":` member.
fn seq_of(line: &str) -> Option<u64> {
    let rest = &line[line.find("\"seq\"")? + 5..];
    let digits = rest.trim_start().strip_prefix(':')?.trim_start();
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

fn emit(out: &mut impl Write, response: &Value) -> std::io::Result<()> {
    writeln!(out, "{response}")?;
    out.flush()
}

/// Answers the request given on the command line (one-shot mode).
fn one_shot(args: &[String]) -> Result<Value, String> {
    match args {
        [cmd] if cmd == "start" => Ok(answer(&json!({ "cmd": "start" }))),
        [cmd, path] if cmd == "read" => Ok(answer(&json!({ "cmd": "read", "path": path }))),
        [cmd, path, tensor] if cmd == "decode" => Ok(answer(
            &json!({ "cmd": "decode", "path": path, "tensor": tensor }),
        )),
        [cmd, file] if cmd == "write" => {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
            Ok(match serde_json::from_str::<Value>(&text) {
                Ok(request) => answer(&request),
                Err(error) => unparsable(&error),
            })
        }
        _ => Err(
            "usage: safetensors-conformance-candle [start | read FILE | write REQUEST.json | decode FILE TENSOR]"
                .into(),
        ),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !args.is_empty() {
        match one_shot(&args) {
            Ok(response) => {
                if emit(&mut out, &response).is_err() {
                    std::process::exit(1);
                }
            }
            Err(message) => {
                eprintln!("{message}");
                std::process::exit(2);
            }
        }
        return;
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let (request, mut response) = match serde_json::from_str::<Value>(&line) {
            Ok(request) => {
                let response = answer(&request);
                (request, response)
            }
            Err(error) => (json!({ "seq": seq_of(&line) }), unparsable(&error)),
        };
        if let (Some(seq), Some(object)) = (
            request.get("seq").filter(|s| !s.is_null()),
            response.as_object_mut(),
        ) {
            object.insert("seq".into(), seq.clone());
        }
        let bye = response["result"] == "bye";
        if emit(&mut out, &response).is_err() || bye {
            break;
        }
    }
}
