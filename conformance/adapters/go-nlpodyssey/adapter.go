// Conformance adapter around github.com/nlpodyssey/safetensors (pinned in go.mod).
//
// Reading maps the file and calls ReadMetadata (metadata, and each tensor's dtype, shape and
// data offsets) and Deserialize (the tensor views whose Data() is hashed). Writing builds
// views with NewTensorView and calls SerializeToWriter. Errors are plain fmt errors wrapping
// encoding/json's typed errors; the adapter maps the library's message prefixes and the
// wrapped json error types to stages (errors: "stages"), with a code where one is exact.
package main

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/nlpodyssey/safetensors"
)

const modulePath = "github.com/nlpodyssey/safetensors"

// The dtypes the library knows (its DType enum).
var dtypes = []string{"BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"}

func start() response {
	return response{
		"result": "started", "protocolVersion": 1,
		"implementation": map[string]any{
			"name": modulePath, "version": libraryVersion(modulePath), "language": "go",
			"homepage": "https://github.com/nlpodyssey/safetensors",
			"issues":   "https://github.com/nlpodyssey/safetensors/issues",
			"codebase": "nlpodyssey/safetensors",
		},
		"capabilities": map[string]any{
			"read": true, "write": true, "dtypes": dtypes,
			"specVersions": []string{"1.0.0"}, "errors": "stages",
		},
		"choices": map[string]string{"trailing_bytes": "reject", "max_header_length": "100000000"},
	}
}

// Message prefixes of the library's own errors -> stage and, where exact, code.
var prefixes = []struct{ prefix, stage, code string }{
	{"header too small", "prefix", "file_too_small"},
	{"header too large", "prefix", "header_too_large"},
	{"invalid header length", "prefix", "header_length_exceeds_file"},
	{"invalid metadata offset for tensor", "layout", ""},                               // end < begin, a gap or an overlap
	{"metadata validation error: failed to compute", "layout", "tensor_size_mismatch"}, // SIZE-4 overflow
	{"metadata validation error: info data offsets mismatch", "layout", "tensor_size_mismatch"},
	{"metadata incomplete buffer", "coverage", ""}, // trailing bytes or truncated data
}

// Messages of unmarshalTensorInfo and unmarshalMetadata, inside "invalid header
// deserialization: ...".
var structureMessages = []struct{ part, code string }{
	{"invalid keys: expected 3 keys", "invalid_tensor_entry"},
	{`missing "`, "invalid_tensor_entry"},
	{`invalid "dtype" value`, "invalid_dtype"},
	{"invalid DType string value", "invalid_dtype"},
	{`invalid "shape" value`, "invalid_shape"},
	{`invalid "data_offsets" value`, "invalid_offsets"},
	{"__metadata__ ", "invalid_metadata"},
}

func classify(err error) response {
	message := err.Error()
	for _, p := range prefixes {
		if strings.HasPrefix(message, p.prefix) {
			return rejected(message, p.stage, p.code)
		}
	}
	if strings.HasPrefix(message, "invalid header deserialization: ") {
		var syntaxErr *json.SyntaxError
		if errors.As(err, &syntaxErr) {
			return rejected(message, "syntax", "header_invalid_json")
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) { // a root, entry or __metadata__ that is not an object
			return rejected(message, "structure", "")
		}
		for _, s := range structureMessages {
			if strings.Contains(message, s.part) {
				return rejected(message, "structure", s.code)
			}
		}
	}
	return rejected(message, "", "") // an unrecognised message: no stage rather than a guess
}

func read(path string) response {
	buffer, err := mapFile(path)
	if err != nil {
		return errored(err.Error())
	}
	defer unmapFile(buffer)
	_, metadata, err := safetensors.ReadMetadata(buffer)
	if err != nil {
		return classify(err)
	}
	// ReadMetadata accepted the file; Deserialize runs the same checks and gives the views.
	st, err := safetensors.Deserialize(buffer)
	if err != nil {
		return errored("Deserialize refused a file ReadMetadata accepted: " + err.Error())
	}
	infos := metadata.Tensors()
	tensors := make([]map[string]any, 0, st.Len())
	for _, named := range st.Tensors() {
		info := infos[named.Name]
		view := named.TensorView
		tensors = append(tensors, map[string]any{
			"name": named.Name, "dtype": view.DType().String(), "shape": nonNil(view.Shape()),
			"dataOffsets": info.DataOffsets[:], "sha256": sha256Hex(view.Data()),
		})
	}
	var meta any // nil when __metadata__ is absent or null
	if m := metadata.Metadata(); m != nil {
		meta = m
	}
	return response{"result": "accepted", "header": map[string]any{"metadata": meta, "tensors": tensors}}
}

func nonNil(shape []uint64) []uint64 {
	if shape == nil {
		return []uint64{}
	}
	return shape
}

func write(request *request) response {
	metadata, ok := stringMetadata(request.Metadata)
	if !ok {
		return skipped("the API takes metadata as map[string]string, which cannot hold a non-string value")
	}
	data, release, err := sourceBytes(request.Tensors)
	if err != nil {
		return errored(err.Error())
	}
	defer release()
	views := make(map[string]safetensors.TensorView, len(request.Tensors))
	for i, t := range request.Tensors {
		if _, dup := views[t.Name]; dup {
			return skipped("the API takes a map of name to view, which cannot hold two tensors with one name")
		}
		dtype, err := safetensors.ParseDType(t.DType)
		if err != nil {
			if known(t.DType) {
				return skipped("the library has no DType for " + t.DType)
			}
			return rejected(err.Error(), "structure", "invalid_dtype")
		}
		view, err := safetensors.NewTensorView(dtype, t.Shape, data[i])
		if err != nil {
			return rejected(err.Error(), "layout", "tensor_size_mismatch")
		}
		views[t.Name] = view
	}
	libraryErr, adapterErr := replaceFile(request.Path, func(w io.Writer) error {
		return safetensors.SerializeToWriter(views, metadata, w)
	})
	if adapterErr != nil {
		return errored(adapterErr.Error())
	}
	if libraryErr != nil {
		return rejected(libraryErr.Error(), "", "")
	}
	return response{"result": "written"}
}

// known reports whether tag is a dtype of the spec's table (spec/v1/spec.md §7.1).
func known(tag string) bool {
	switch tag {
	case "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
		"F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
		"F64", "I64", "U64":
		return true
	}
	return false
}
