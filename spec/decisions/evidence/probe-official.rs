//! Probes the published safetensors 0.8.0 crate with crafted files and prints one
//! line per case: `<id> <label>: ok ...` or `<id> <label>: ERR <variant> ...`.
//! For serde_json errors the line also gives serde_json's own category
//! (Syntax, Data or Eof). See official-0.8.0-observations.md beside this file.
use safetensors::tensor::TensorView;
use safetensors::{serialize, Dtype, SafeTensorError, SafeTensors};
use std::collections::HashMap;

/// A file from header text and data bytes, with N = header length.
fn file(header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header);
    v.extend_from_slice(data);
    v
}

fn probe(id: &str, label: &str, bytes: &[u8]) {
    match SafeTensors::deserialize(bytes) {
        Ok(st) => {
            let mut names = st.names();
            names.sort();
            let (_, md) = SafeTensors::read_metadata(bytes).expect("read_metadata agrees with deserialize");
            let tensors: Vec<String> = names
                .iter()
                .map(|n| {
                    let t = st.tensor(n).expect("listed name");
                    format!("{n:?}:{}{:?}", t.dtype(), t.shape())
                })
                .collect();
            println!("{id} {label}: ok tensors={tensors:?} metadata={:?}", md.metadata());
        }
        Err(SafeTensorError::InvalidHeaderDeserialization(e)) => {
            println!("{id} {label}: ERR InvalidHeaderDeserialization [{:?}] {e}", e.classify())
        }
        Err(e) => println!("{id} {label}: ERR {e:?}"),
    }
}

fn header_of(out: &[u8]) -> String {
    let n = u64::from_le_bytes(out[..8].try_into().expect("8 bytes")) as usize;
    format!("N={n} {:?}", String::from_utf8_lossy(&out[8..8 + n]))
}

fn nested(depth: usize) -> Vec<u8> {
    // Level 1 is the top-level object, level 2 the entry; the unknown field's
    // value adds depth - 2 levels of arrays.
    let mut h = String::from(r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":"#);
    h.push_str(&"[".repeat(depth - 2));
    h.push_str(&"]".repeat(depth - 2));
    h.push_str("}}");
    file(h.as_bytes(), b"")
}

fn main() {
    let f32 = |name: &str| format!(r#""{name}":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#);
    let z4 = [0u8; 4];

    // Prefix stage
    probe("O01", "7-byte file", &[0xff; 7]);
    probe("O02", "N = 2^64-1 in an 8-byte file", &[0xff; 8]);
    let mut f = 100_000_001u64.to_le_bytes().to_vec();
    f.extend_from_slice(b"{}");
    probe("O03", "N = 100000001, file shorter than 8+N", &f);
    let mut f = 100_000_000u64.to_le_bytes().to_vec();
    f.extend_from_slice(b"{}");
    probe("O04", "N = 100000000, file shorter than 8+N", &f);
    probe("O05", "N = 0", &file(b"", b""));

    // Encoding and whitespace
    probe("O06", "invalid UTF-8 C0 AF", &file(b"{\xC0\xAF", b""));
    probe("O07", "BOM before {}", &file(b"\xEF\xBB\xBF{}", b""));
    probe("O08", "leading SP HT LF CR", &file(b" \t\n\r{}", b""));
    probe("O09", "trailing SP HT LF CR", &file(b"{} \t\n\r", b""));
    probe("O10", "trailing NUL padding", &file(b"{}\0\0", b""));
    probe("O11", "leading form feed", &file(b"\x0c{}", b""));
    probe("O12", "raw control character in a key", &file(b"{\"a\x01\":{}}", b""));

    // Duplicates
    let dup = format!(r#"{{{},"a":{{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}}}"#, f32("a"));
    probe("O13", "duplicate tensor key, F32 then I32", &file(dup.as_bytes(), &z4));
    let dup = format!(r#"{{{},"\u0061":{{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}}}"#, f32("a"));
    probe("O14", "duplicate tensor key spelled \\u0061", &file(dup.as_bytes(), &z4));
    probe("O15", "duplicate dtype field", &file(br#"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, &z4));
    probe("O16", "duplicate __metadata__", &file(br#"{"__metadata__":{},"__metadata__":{}}"#, b""));
    probe("O17", "duplicate metadata key", &file(br#"{"__metadata__":{"x":"1","x":"2"}}"#, b""));

    // Structure
    probe("O18", "unknown field in an entry", &file(br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":[1,{"y":null}]}}"#, &z4));
    probe("O19", "header is an array", &file(b"[]", b""));
    probe("O20", "entry without data_offsets", &file(br#"{"a":{"dtype":"F32","shape":[1]}}"#, b""));
    probe("O21", "dtype f32 (lower case)", &file(br#"{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}"#, &z4));
    probe("O22", "metadata null", &file(br#"{"__metadata__":null}"#, b""));
    probe("O23", "metadata {}", &file(br#"{"__metadata__":{}}"#, b""));

    // Numbers and strings
    probe("O24", "offset 4.0", &file(br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#, &z4));
    probe("O25", "shape 1e0", &file(br#"{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}"#, &z4));
    probe("O26", "offset -0", &file(br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-0,4]}}"#, &z4));
    probe("O27", "shape 2^64", &file(br#"{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}"#, &z4));
    probe("O28", "shape 01 (leading zero)", &file(br#"{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}"#, &z4));
    probe("O29", "name \\ud800 (lone high surrogate)", &file(br#"{"\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, &z4));
    probe("O30", "name \\udc00 (lone low surrogate)", &file(br#"{"\udc00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, &z4));
    probe("O31", "name \\ud83d\\ude00 (surrogate pair)", &file(br#"{"\ud83d\ude00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, &z4));

    // Syntax versus structure: serde_json stops at the first error in document order
    probe("O32", "bad dtype, then garbage after the object", &file(br#"{"a":{"dtype":"XX","shape":[1],"data_offsets":[0,4]}} garbage"#, b""));
    probe("O33", "syntax error, then a bad dtype later", &file(br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, x, "b":{"dtype":"XX"}}"#, b""));

    // Nesting depth
    for (id, depth) in [("O34", 127usize), ("O35", 128)] {
        probe(id, &format!("nesting {depth} levels in an unknown field"), &nested(depth));
    }

    // Layout and size
    probe("O36", "shape [0, 2^63, 2^63]", &file(br#"{"a":{"dtype":"F32","shape":[0,9223372036854775808,9223372036854775808],"data_offsets":[0,0]}}"#, b""));
    probe("O37", "shape [2^63, 2^63, 0]", &file(br#"{"a":{"dtype":"F32","shape":[9223372036854775808,9223372036854775808,0],"data_offsets":[0,0]}}"#, b""));
    probe("O38", "F4 shape [3]", &file(br#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, &[0; 2]));
    probe("O39", "F4 shape [2^64-1] (odd numel)", &file(br#"{"a":{"dtype":"F4","shape":[18446744073709551615],"data_offsets":[0,2]}}"#, &[0; 2]));
    probe("O40", "U8 shape [2^64-1]", &file(br#"{"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,1]}}"#, &[0; 1]));
    probe("O41", "F6_E2M3 shape [4] in 3 bytes", &file(br#"{"a":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}}"#, &[0; 3]));
    probe("O42", "zero-size tensors at every boundary", &file(br#"{"z":{"dtype":"U8","shape":[0],"data_offsets":[1,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"y":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"w":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}}"#, &[0; 2]));
    probe("O43", "zero-size tensor inside another's range", &file(br#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"z":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}}"#, &z4));
    probe("O44", "end < begin", &file(br#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}"#, &[0; 1]));
    probe("O45", "first tensor wrong size, second after a gap", &file(br#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}"#, &[0; 3]));
    probe("O46", "one trailing byte", &file(br#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, &[0; 2]));
    // Two entries with the same [begin, end): the official sort keeps hash order,
    // so which one is checked first varies from run to run.
    for i in 0..6 {
        let h = format!(r#"{{"a{i}":{{"dtype":"U8","shape":[4],"data_offsets":[0,4]}},"b{i}":{{"dtype":"U8","shape":[3],"data_offsets":[0,4]}}}}"#);
        probe(&format!("O47.{i}"), "same range, second entry has the wrong size", &file(h.as_bytes(), &z4));
    }

    // Writer
    let mut t: HashMap<String, TensorView> = HashMap::new();
    t.insert("b".into(), TensorView::new(Dtype::U8, vec![4], &z4).expect("view"));
    t.insert("a".into(), TensorView::new(Dtype::F32, vec![1], &z4).expect("view"));
    t.insert("c".into(), TensorView::new(Dtype::F16, vec![2], &z4).expect("view"));
    for run in 0..3 {
        let md: HashMap<String, String> = ["k3", "k1", "k2", "k0"].iter().map(|k| (k.to_string(), "v".to_string())).collect();
        let out = serialize(&t, Some(md)).expect("serialize");
        println!("W01.{run} writer, 3 tensors + 4 metadata keys: {}", header_of(&out));
    }
    let empty: HashMap<String, TensorView> = HashMap::new();
    let out = serialize(&empty, None).expect("serialize");
    println!("W02 writer, no tensors, no metadata: {}", header_of(&out));
    let out = serialize(&empty, Some(HashMap::new())).expect("serialize");
    println!("W03 writer, no tensors, metadata {{}}: {}", header_of(&out));
    probe("W03r", "reading W03 back", &out);
    let mut t2: HashMap<String, TensorView> = HashMap::new();
    t2.insert("__metadata__".into(), TensorView::new(Dtype::U8, vec![4], &z4).expect("view"));
    let out = serialize(&t2, None).expect("serialize");
    println!("W04 writer, tensor named __metadata__: {}", header_of(&out));
    probe("W04r", "reading W04 back", &out);
    let mut t3: HashMap<String, TensorView> = HashMap::new();
    t3.insert("q\u{1}\"\u{7f}/é".into(), TensorView::new(Dtype::U8, vec![4], &z4).expect("view"));
    let out = serialize(&t3, None).expect("serialize");
    println!("W05 writer, name with U+0001, quote, DEL, slash, e-acute: {}", header_of(&out));
    let pairs = vec![
        ("a".to_string(), TensorView::new(Dtype::U8, vec![4], &z4).expect("view")),
        ("a".to_string(), TensorView::new(Dtype::U8, vec![4], &z4).expect("view")),
    ];
    std::panic::set_hook(Box::new(|info| println!("W06 panic: {info}")));
    match std::panic::catch_unwind(|| serialize(pairs, None)) {
        Ok(Ok(out)) => println!("W06 writer, two tensors named a: {}", header_of(&out)),
        Ok(Err(e)) => println!("W06 writer, two tensors named a: ERR {e:?}"),
        Err(_) => println!("W06 writer, two tensors named a: panicked"),
    }
}
