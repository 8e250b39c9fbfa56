// Conformance adapter around the safetensors reader of github.com/gomlx/go-huggingface
// (models/safetensors, pinned in go.mod). Read only: the package has no writer.
//
// The package reads only through a hub.Repo (a Hugging Face repository in a local cache):
// safetensors.New(repo) lists the repository and parses the header of its .safetensors
// file, and Model.NewTensorReader(file).ReadTensor(nil, name) maps the file and copies each
// tensor's bytes into a host tensor. The adapter makes the repository out of the case file:
// a cache directory whose snapshot holds a symbolic link to it, and a loopback HTTP server
// inside this process that answers the one request hub.Repo makes (the repository info, to
// learn the commit of "main"). A file already in the snapshot is never downloaded.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/gomlx/go-huggingface/hub"
	"github.com/gomlx/go-huggingface/models/safetensors"
)

const modulePath = "github.com/gomlx/go-huggingface"

const (
	repoID    = "conformance/case"
	commit    = "0000000000000000000000000000000000000000"
	fileName  = "model.safetensors"
	infoReply = `{"id":"conformance/case","sha":"` + commit + `","siblings":[{"rfilename":"` + fileName + `"}]}`
)

// The spec's tags that the package maps to a GoMLX dtype (dtypeToGoMLX lower-cases the tag
// and looks it up in dtypes.MapOfNames, which has no F8_*, F4 or F6 spellings of the spec).
var dtypes = []string{"BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"}

var endpoint string

func start() response {
	return response{
		"result": "started", "protocolVersion": 1,
		"implementation": map[string]any{
			"name": modulePath + "/models/safetensors", "version": libraryVersion(modulePath), "language": "go",
			"homepage": "https://github.com/gomlx/go-huggingface",
			"issues":   "https://github.com/gomlx/go-huggingface/issues",
			"codebase": "gomlx/go-huggingface",
		},
		"capabilities": map[string]any{
			"read": true, "write": false, "dtypes": dtypes,
			"specVersions": []string{"1.0.0"}, "errors": "stages",
		},
		// No coverage check at all; the 100 MiB header limit (104,857,600) is neither option
		// of max_header_length, so the spec's default is declared and the files between the
		// two limits fail.
		"choices": map[string]string{"trailing_bytes": "ignore", "max_header_length": "100000000"},
	}
}

// startHub serves the repository info on a loopback port, after removing the caches left
// by adapter processes that were killed in a read (their deferred removal never ran).
func startHub() error {
	if endpoint != "" {
		return nil
	}
	removeStaleCaches()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/models/"+repoID+"/revision/main" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, infoReply)
	}))
	endpoint = "http://" + listener.Addr().String()
	return nil
}

func removeStaleCaches() {
	stale, _ := filepath.Glob(filepath.Join(os.TempDir(), "go-gomlx-hub-*-*"))
	for _, dir := range stale {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(dir), "go-gomlx-hub-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH { // no such process
			_ = os.RemoveAll(dir)
		}
	}
}

// Message parts of the package's errors -> stage and, where exact, code.
var messages = []struct{ part, stage, code string }{
	{"failed to read header size", "prefix", "file_too_small"},
	{"header size too large", "prefix", "header_too_large"},
	{"failed to read header JSON", "prefix", "header_length_exceeds_file"},
	{"failed to parse __metadata__", "structure", "invalid_metadata"},
	{"failed to parse tensor metadata for", "structure", ""}, // refined by the json error
	{"failed to parse header JSON", "structure", ""},         // a syntax error is caught first
	{"not supported", "structure", "invalid_dtype"},          // dtypeToGoMLX
	{"bytes, but got", "layout", "tensor_size_mismatch"},     // ReadTensor's size check
}

func classify(err error) response {
	message := err.Error()
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return rejected(message, "syntax", "header_invalid_json")
	}
	for _, m := range messages {
		if strings.Contains(message, m.part) {
			code := m.code
			var typeErr *json.UnmarshalTypeError
			if code == "" && errors.As(err, &typeErr) {
				switch typeErr.Field {
				case "": // the header itself: json.Unmarshal into map[string]json.RawMessage
					if m.part == "failed to parse header JSON" {
						code = "header_not_object"
					}
				case "shape":
					code = "invalid_shape"
				case "data_offsets":
					code = "invalid_offsets"
				case "dtype":
					code = "invalid_dtype"
				}
			}
			return rejected(message, m.stage, code)
		}
	}
	return rejected(message, "", "") // an unrecognised message: no stage rather than a guess
}

func read(path string) response {
	if err := startHub(); err != nil {
		return errored("cannot start the loopback hub: " + err.Error())
	}
	absolute, err := filepath.Abs(path)
	if err != nil {
		return errored(err.Error())
	}
	cacheDir, err := os.MkdirTemp("", fmt.Sprintf("go-gomlx-hub-%d-", os.Getpid())) // a fresh cache per read
	if err != nil {
		return errored(err.Error())
	}
	defer os.RemoveAll(cacheDir)
	snapshot := filepath.Join(cacheDir, "models--conformance--case", "snapshots", commit)
	if err := os.MkdirAll(snapshot, 0o755); err != nil {
		return errored(err.Error())
	}
	link := filepath.Join(snapshot, fileName)
	if err := os.Symlink(absolute, link); err != nil {
		return errored(err.Error())
	}
	repo := hub.New(repoID).WithEndpoint(endpoint).WithCacheDir(cacheDir).WithProgressBar(false)
	repo.Verbosity = 0

	model, err := safetensors.New(repo) // parses the header
	if err != nil {
		return classify(err)
	}
	header := model.Headers[fileName]
	reader, err := model.NewTensorReader(fileName) // parses it again and maps the file
	if err != nil {
		return classify(err)
	}
	defer reader.Close()

	names := make([]string, 0, len(header.Tensors))
	for name := range header.Tensors {
		names = append(names, name)
	}
	sort.Strings(names)
	tensors := make([]map[string]any, 0, len(names))
	var problems []string
	for _, name := range names {
		t, err := reader.ReadTensor(nil, name) // nil backend: a host copy
		if err != nil {
			return classify(err)
		}
		var digest string
		if err := t.ConstBytes(func(data []byte) { digest = sha256Hex(data) }); err != nil {
			return errored("ConstBytes: " + err.Error())
		}
		t.FinalizeAll()
		meta := header.Tensors[name]
		for _, d := range meta.Shape {
			if d < 0 {
				problems = append(problems, fmt.Sprintf("tensor %q has shape %v", name, meta.Shape))
				break
			}
		}
		if meta.DataOffsets[0] < 0 || meta.DataOffsets[1] < 0 {
			problems = append(problems, fmt.Sprintf("tensor %q has data offsets %v", name, meta.DataOffsets))
		}
		shape := meta.Shape
		if shape == nil {
			shape = []int{}
		}
		tensors = append(tensors, map[string]any{
			"name": name, "dtype": meta.Dtype, "shape": shape,
			"dataOffsets": meta.DataOffsets[:], "sha256": digest,
		})
	}
	// Header.Metadata is an empty map both when __metadata__ is absent and when it is {}
	// (nil when it is null): the API cannot tell absent from empty, so empty reads as null.
	var metadata any
	if len(header.Metadata) > 0 {
		for key, value := range header.Metadata {
			if _, ok := value.(string); !ok {
				problems = append(problems, fmt.Sprintf("metadata %q has the non-string value %v", key, value))
			}
		}
		metadata = header.Metadata
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return response{
			"result": "accepted", "unrepresentable": strings.Join(problems, "; "),
			"raw": map[string]any{"metadata": header.Metadata, "tensors": tensors},
		}
	}
	return response{"result": "accepted", "header": map[string]any{"metadata": metadata, "tensors": tensors}}
}

func write(*request) response {
	return skipped("the package has no writer")
}

// The hub package prints download progress with fmt.Printf: keep the protocol's stdout
// (protocolOut) clean by sending whatever the library prints to stderr.
func init() {
	os.Stdout = os.Stderr
}
