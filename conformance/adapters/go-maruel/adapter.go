// Conformance adapter around github.com/maruel/safetensors (pinned in go.mod).
//
// Reading maps the file and calls Parse, which is what the library's Mapped.Open does
// after mapping; doing the mapping here lets an empty file reach Parse (mmap refuses length
// 0) and gives the address from which data offsets are derived exactly: the File the
// library returns has each tensor's Data slice into the buffer but no offsets. Writing builds a File and
// calls File.Serialize. Errors are fmt errors with fixed prefixes, some wrapping
// encoding/json's typed errors; the adapter maps them to stages (errors: "stages").
package main

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unsafe"

	"github.com/maruel/safetensors"
)

const modulePath = "github.com/maruel/safetensors"

// The dtypes the library knows (DTypeToWordSize).
var dtypes = []string{"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"}

func start() response {
	return response{
		"result": "started", "protocolVersion": 1,
		"implementation": map[string]any{
			"name": modulePath, "version": libraryVersion(modulePath), "language": "go",
			"homepage": "https://github.com/maruel/safetensors",
			"issues":   "https://github.com/maruel/safetensors/issues",
			"codebase": "maruel/safetensors",
		},
		"capabilities": map[string]any{
			"read": true, "write": true, "dtypes": dtypes,
			"specVersions": []string{"1.0.0"}, "errors": "stages",
		},
		"choices": map[string]string{"trailing_bytes": "reject", "max_header_length": "100000000"},
	}
}

// Message prefixes of Parse's errors -> stage and, where exact, code.
var prefixes = []struct{ prefix, stage, code string }{
	{"invalid header: too small", "prefix", "file_too_small"},
	{"invalid header: too large", "prefix", "header_too_large"},
	{"invalid header: invalid length", "prefix", "header_length_exceeds_file"},
	{"invalid metadata: ", "layout", ""},           // refined by layoutCodes
	{"metadata incomplete buffer", "coverage", ""}, // trailing bytes or truncated data
	{"invalid tensor: ", "layout", "tensor_size_mismatch"},
}

// tensorInfo.validate's messages, inside "invalid metadata: tensor %q #%d: ...".
var layoutCodes = []struct{ part, code string }{
	// Tensors are checked in begin order, so a begin that is not the previous end is a
	// gap, an overlap, or a first tensor not at 0.
	{": invalid offset start: ", "offsets_not_contiguous"},
	{": invalid offset end: ", "invalid_offset_range"},
	{": failed to compute num", "tensor_size_mismatch"}, // SIZE-4 overflow
	{": info data offsets mismatch", "tensor_size_mismatch"},
}

func classify(err error) response {
	message := err.Error()
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return rejected(message, "syntax", "header_invalid_json")
	case errors.As(err, &typeErr):
		return rejected(message, "structure", typeCode(typeErr))
	case strings.HasSuffix(message, " is not a valid DType"): // DType.UnmarshalJSON
		return rejected(message, "structure", "invalid_dtype")
	}
	for _, p := range prefixes {
		if strings.HasPrefix(message, p.prefix) {
			code := p.code
			if p.prefix == "invalid metadata: " {
				for _, l := range layoutCodes {
					if strings.Contains(message, l.part) {
						code = l.code
					}
				}
			}
			return rejected(message, p.stage, code)
		}
	}
	return rejected(message, "", "") // "empty tensors" and anything unrecognised: no stage
}

// typeCode names the registry code of an encoding/json type error by the Go field it
// was decoding into, where that is exact.
func typeCode(e *json.UnmarshalTypeError) string {
	switch {
	case e.Field == "shape" || strings.HasSuffix(e.Field, ".shape"):
		return "invalid_shape"
	case e.Field == "data_offsets" || strings.HasSuffix(e.Field, ".data_offsets"):
		return "invalid_offsets"
	case e.Field == "dtype" || strings.HasSuffix(e.Field, ".dtype"):
		return "invalid_dtype"
	case e.Type != nil && e.Type.String() == "safetensors.tensorInfo":
		return "invalid_tensor_entry"
	case e.Type != nil && (e.Type.String() == "map[string]string" || e.Type.String() == "string"):
		return "invalid_metadata"
	}
	return ""
}

func read(path string) response {
	buffer, err := mapFile(path)
	if err != nil {
		return errored(err.Error())
	}
	defer unmapFile(buffer)
	file, err := safetensors.Parse(buffer)
	if err != nil {
		return classify(err)
	}
	// Parse succeeded, so the buffer holds the 8-byte prefix, the N-byte header and the data,
	// and each Data is data[begin:end] of data = buffer[8+N:], whose capacity is its length
	// (a mapping). Go does not advance the pointer of a slice whose capacity is 0, which
	// happens only for begin == len(data): that case is told apart by the capacity.
	data := buffer[8+leUint64(buffer):]
	dataStart := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	tensors := make([]map[string]any, 0, len(file.Tensors))
	for _, t := range file.Tensors {
		begin := uint64(len(data))
		if cap(t.Data) > 0 {
			begin = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(t.Data))) - dataStart)
		}
		tensors = append(tensors, map[string]any{
			"name": t.Name, "dtype": string(t.DType), "shape": nonNil(t.Shape),
			"dataOffsets": []uint64{begin, begin + uint64(len(t.Data))}, "sha256": sha256Hex(t.Data),
		})
	}
	var meta any // nil when __metadata__ is absent or null
	if file.Metadata != nil {
		meta = file.Metadata
	}
	return response{"result": "accepted", "header": map[string]any{"metadata": meta, "tensors": tensors}}
}

func leUint64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
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
		return skipped("File.Metadata is a map[string]string, which cannot hold a non-string value")
	}
	data, release, err := sourceBytes(request.Tensors)
	if err != nil {
		return errored(err.Error())
	}
	defer release()
	// The request's order is passed through: File.Tensors is a list the library keeps as is.
	file := &safetensors.File{Tensors: make([]safetensors.Tensor, len(request.Tensors)), Metadata: metadata}
	for i, t := range request.Tensors {
		if _, ok := safetensors.DTypeToWordSize[safetensors.DType(t.DType)]; !ok && known(t.DType) {
			return skipped("the library has no DType " + t.DType)
		}
		file.Tensors[i] = safetensors.Tensor{Name: t.Name, DType: safetensors.DType(t.DType), Shape: t.Shape, Data: data[i]}
	}
	libraryErr, adapterErr := replaceFile(request.Path, func(w io.Writer) error { return file.Serialize(w) })
	if adapterErr != nil {
		return errored(adapterErr.Error())
	}
	if libraryErr != nil {
		stage, code := "", ""
		if strings.HasPrefix(libraryErr.Error(), "invalid tensor: ") { // Tensor.Validate
			stage, code = "layout", "tensor_size_mismatch"
		}
		return rejected(libraryErr.Error(), stage, code)
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
