//! Conformance adapter around an older release of the official `safetensors` crate: 0.3.x
//! here, 0.5.x when built from official-rust-0.5 (the feature `safetensors-0-5`). Both
//! releases have the same API for everything the adapter calls.
//!
//! Long-lived mode (no arguments): NDJSON requests on stdin, responses on stdout.
//! One-shot mode: `start`, `read FILE` or `write REQUEST.json`, one response line each.
//!
//! Reading memory-maps the file, as the crate's documentation does, and calls
//! `SafeTensors::read_metadata` (names, dtypes, shapes, offsets, metadata) and
//! `SafeTensors::deserialize` (the tensors' bytes). Writing builds `TensorView`s and calls
//! `serialize_to_file`. These releases drop serde_json's error when a header does not
//! deserialize (`InvalidHeaderDeserialization` is a unit variant), so a JSON syntax error
//! and a wrong-typed field cannot be told apart: the adapter declares `errors: "none"`, and
//! still adds a stage and code wherever a variant means exactly one.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, Write};
use std::path::Path;

use safetensors::tensor::{Dtype, Metadata, SafeTensorError, SafeTensors, TensorView};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The crate version this adapter is pinned to (Cargo.toml).
#[cfg(not(feature = "safetensors-0-5"))]
const SAFETENSORS_VERSION: &str = "0.3.3";
#[cfg(feature = "safetensors-0-5")]
const SAFETENSORS_VERSION: &str = "0.5.3";

/// Every tag of the spec's dtype table (spec/v1/spec.md §7.1), in table order. The adapter
/// declares those that the crate's own `Dtype` deserializes.
const SPEC_DTYPES: [&str; 22] = [
    "BOOL",
    "F4",
    "F6_E2M3",
    "F6_E3M2",
    "U8",
    "I8",
    "F8_E5M2",
    "F8_E4M3",
    "F8_E8M0",
    "F8_E4M3FNUZ",
    "F8_E5M2FNUZ",
    "I16",
    "U16",
    "F16",
    "BF16",
    "I32",
    "U32",
    "F32",
    "C64",
    "F64",
    "I64",
    "U64",
];

/// The tags the release's `Dtype` enum knows, asked of its own `Deserialize`.
fn known_dtypes() -> Vec<&'static str> {
    SPEC_DTYPES
        .iter()
        .copied()
        .filter(|tag| serde_json::from_value::<Dtype>(json!(tag)).is_ok())
        .collect()
}

/// A request the adapter could not carry out for a reason that is not the library's
/// verdict on the input (an I/O error, a malformed request): the harness counts a crash.
struct AdapterFailure(String);

impl<E: std::fmt::Display> From<E> for AdapterFailure {
    fn from(error: E) -> Self {
        AdapterFailure(error.to_string())
    }
}

/// The registry stage and code a variant means, where it means exactly one of each; `None`
/// for the library errors that are not verdicts on a file.
fn classify(error: &SafeTensorError) -> Option<(Option<&'static str>, Option<&'static str>)> {
    use SafeTensorError::*;
    Some(match error {
        HeaderTooSmall => (Some("prefix"), Some("file_too_small")),
        HeaderTooLarge => (Some("prefix"), Some("header_too_large")),
        InvalidHeaderLength => (Some("prefix"), Some("header_length_exceeds_file")),
        InvalidHeader => (Some("encoding"), Some("header_invalid_utf8")),
        // The first byte is not `{`: leading whitespace, a BOM, an array, garbage.
        InvalidHeaderStart => (None, None),
        // serde_json's error is dropped: a syntax error or a wrong-typed field.
        InvalidHeaderDeserialization => (None, None),
        // end < begin, a gap or an overlap: two codes of one stage.
        InvalidOffset(_) => (Some("layout"), None),
        // SIZE-4: an overflow is a size mismatch.
        ValidationOverflow | TensorInvalidInfo | InvalidTensorView(..) => {
            (Some("layout"), Some("tensor_size_mismatch"))
        }
        // Trailing bytes or a truncated buffer: two codes of one stage.
        MetadataIncompleteBuffer => (Some("coverage"), None),
        TensorNotFound(_) | IoError(_) | JsonError(_) => return None,
    })
}

fn rejected(error: SafeTensorError) -> Result<Value, AdapterFailure> {
    let Some((stage, code)) = classify(&error) else {
        return Err(AdapterFailure(format!("unexpected library error: {error}")));
    };
    let mut body = json!({ "message": error.to_string() });
    if let Some(stage) = stage {
        body["stage"] = json!(stage);
    }
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

/// Memory-maps a file, as the crate's documentation does; `None` for an empty file, which
/// Linux cannot map. Mapping keeps gigabyte files out of the adapter's own allocations.
fn map_file(path: &str) -> Result<Option<memmap2::Mmap>, AdapterFailure> {
    let file = File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: the harness does not modify the file while the adapter uses it.
    Ok(Some(unsafe { memmap2::Mmap::map(&file)? }))
}

fn read(path: &str) -> Result<Value, AdapterFailure> {
    let map = map_file(path)?;
    let buffer: &[u8] = map.as_deref().unwrap_or(&[]);
    let metadata: Metadata = match SafeTensors::read_metadata(buffer) {
        Ok((_, metadata)) => metadata,
        Err(error) => return rejected(error),
    };
    let tensors = match SafeTensors::deserialize(buffer) {
        Ok(tensors) => tensors,
        Err(error) => return rejected(error),
    };
    let mut out = Vec::new();
    for (name, info) in metadata.tensors() {
        let view = match tensors.tensor(&name) {
            Ok(view) => view,
            Err(error) => return rejected(error),
        };
        out.push(json!({
            "name": name,
            // The crate's own tag: its Serialize for Dtype (Display arrived in 0.6).
            "dtype": serde_json::to_value(info.dtype)?,
            "shape": info.shape,
            "dataOffsets": [info.data_offsets.0, info.data_offsets.1],
            "sha256": sha256_hex(view.data()),
        }));
    }
    Ok(json!({
        "result": "accepted",
        "header": { "metadata": metadata.metadata(), "tensors": out },
    }))
}

fn field<'a>(value: &'a Value, key: &str) -> Result<&'a Value, AdapterFailure> {
    value
        .get(key)
        .ok_or_else(|| AdapterFailure(format!("request lacks {key}")))
}

fn as_u64(value: &Value) -> Result<u64, AdapterFailure> {
    value
        .as_u64()
        .ok_or_else(|| AdapterFailure(format!("{value} is not a u64")))
}

fn write(request: &Value) -> Result<Value, AdapterFailure> {
    let path = field(request, "path")?
        .as_str()
        .ok_or("path is not a string")?;
    let specs = field(request, "tensors")?
        .as_array()
        .ok_or("tensors is not an array")?;
    // The crate's API takes metadata as HashMap<String, String>: a non-string value cannot
    // be passed to it at all, which is the crate refusing it by type.
    let metadata = match field(request, "metadata")? {
        Value::Null => None,
        Value::Object(map) => {
            let mut strings = HashMap::new();
            for (key, value) in map {
                let Some(text) = value.as_str() else {
                    let message = format!("metadata value of {key:?} is not a string; the API takes HashMap<String, String>");
                    return Ok(
                        json!({ "result": "rejected", "error": { "message": message, "stage": "structure" } }),
                    );
                };
                strings.insert(key.clone(), text.to_string());
            }
            Some(strings)
        }
        _ => {
            return Err(AdapterFailure(
                "metadata is neither null nor an object".into(),
            ))
        }
    };
    let mut owned = Vec::with_capacity(specs.len());
    for spec in specs {
        let name = field(spec, "name")?
            .as_str()
            .ok_or("name is not a string")?
            .to_string();
        let tag = field(spec, "dtype")?.clone();
        // Parse the tag with the crate's own Deserialize impl, as a header would be.
        let dtype: Dtype = match serde_json::from_value(tag) {
            Ok(dtype) => dtype,
            Err(error) => {
                let message = format!("invalid dtype: {error}");
                return Ok(
                    json!({ "result": "rejected", "error": { "message": message, "stage": "structure", "code": "invalid_dtype" } }),
                );
            }
        };
        let shape = field(spec, "shape")?
            .as_array()
            .ok_or("shape is not an array")?
            .iter()
            .map(|d| Ok(usize::try_from(as_u64(d)?)?))
            .collect::<Result<Vec<usize>, AdapterFailure>>()?;
        let data = field(spec, "data")?;
        let source = field(data, "path")?
            .as_str()
            .ok_or("data.path is not a string")?;
        let offset = usize::try_from(as_u64(field(data, "offset")?)?)?;
        let length = usize::try_from(as_u64(field(data, "length")?)?)?;
        let end = offset.checked_add(length).ok_or("data span overflows")?;
        owned.push((name, dtype, shape, map_file(source)?, offset..end));
    }
    let mut views = Vec::with_capacity(owned.len());
    for (name, dtype, shape, map, span) in &owned {
        let bytes = map
            .as_deref()
            .unwrap_or(&[])
            .get(span.clone())
            .ok_or_else(|| {
                AdapterFailure(format!("data span {span:?} is past the end of its file"))
            })?;
        match TensorView::new(*dtype, shape.clone(), bytes) {
            Ok(view) => views.push((name.clone(), view)),
            Err(error) => return rejected(error),
        }
    }
    match safetensors::serialize_to_file(views, &metadata, Path::new(path)) {
        Ok(()) => Ok(json!({ "result": "written" })),
        Err(error) => rejected(error),
    }
}

fn handle(request: &Value) -> Value {
    let outcome = match request.get("cmd").and_then(Value::as_str) {
        Some("start") => Ok(json!({
            "result": "started",
            "protocolVersion": 1,
            "implementation": {
                "name": "safetensors (Rust)",
                "version": SAFETENSORS_VERSION,
                "language": "rust",
                "codebase": "safetensors/safetensors",
                "homepage": "https://github.com/huggingface/safetensors",
                "issues": "https://github.com/huggingface/safetensors/issues",
            },
            "capabilities": {
                "read": true, "write": true, "dtypes": known_dtypes(),
                "specVersions": ["1.0.0"], "errors": "none",
            },
            "choices": { "trailing_bytes": "reject", "max_header_length": "100000000" },
        })),
        Some("shutdown") => Ok(json!({ "result": "bye" })),
        Some("read") => match request.get("path").and_then(Value::as_str) {
            Some(path) => read(path),
            None => Err(AdapterFailure("read request lacks path".into())),
        },
        Some("write") => write(request),
        other => Err(AdapterFailure(format!("unknown command {other:?}"))),
    };
    outcome.unwrap_or_else(
        |AdapterFailure(message)| json!({ "result": "errored", "message": message }),
    )
}

/// Runs a request; a panic inside the crate becomes an `errored` answer (which the harness
/// counts as a crash) instead of ending the long-lived process. The default panic hook
/// still prints the message and location to stderr.
fn handle_catching_panics(request: &Value) -> Value {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(request))).unwrap_or_else(|payload| {
        let panic = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        json!({ "result": "errored", "message": format!("the safetensors crate panicked: {panic}") })
    })
}

/// The answer to a request line serde_json cannot parse. A lone surrogate escape is valid
/// JSON but cannot be held in a Rust `String`, so the crate's API (which takes `&str` names
/// and `HashMap<String, String>` metadata) refuses it by type: `invalid_string`.
fn unparsable(error: &serde_json::Error) -> Value {
    let text = error.to_string();
    if text.contains("surrogate") || text.contains("hex escape") {
        let message = format!("a Rust string cannot hold a lone surrogate, so the crate's API cannot be given it ({error})");
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
        [cmd] if cmd == "start" => Ok(handle_catching_panics(&json!({ "cmd": "start" }))),
        [cmd, path] if cmd == "read" => Ok(handle_catching_panics(
            &json!({ "cmd": "read", "path": path }),
        )),
        [cmd, file] if cmd == "write" => {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
            Ok(match serde_json::from_str::<Value>(&text) {
                Ok(request) => handle_catching_panics(&request),
                Err(error) => unparsable(&error),
            })
        }
        _ => Err("usage: adapter [start | read FILE | write REQUEST.json]".into()),
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
                let response = handle_catching_panics(&request);
                (request, response)
            }
            Err(error) => {
                let response = unparsable(&error);
                (json!({ "seq": seq_of(&line) }), response)
            }
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
