// The NDJSON adapter protocol (conformance/README.md), the same in every Go adapter of this
// repository: long-lived mode reads one request a line on stdin and answers one line on
// stdout; one-shot mode takes `start`, `read FILE` or `write REQUEST.json` as arguments.
// The library-specific half is adapter.go.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
)

// protocolOut is the process's standard output, kept before any init function runs, so that
// an adapter can point os.Stdout elsewhere when its library prints.
var protocolOut = os.Stdout

// response is one answer; encoding/json writes uint64 shapes and offsets exactly.
type response map[string]any

// request is any command, decoded in one pass (a write can carry a 100 MB metadata value).
// encoding/json turns a lone surrogate escape into U+FFFD, so before a write the raw line
// goes through hasLoneSurrogate: the library must not be handed a different name.
type request struct {
	Seq      *uint64        `json:"seq"`
	Cmd      string         `json:"cmd"`
	Path     string         `json:"path"`
	Tensors  []writeTensor  `json:"tensors"`
	Metadata map[string]any `json:"metadata"` // nil when null
}

type writeTensor struct {
	Name  string   `json:"name"`
	DType string   `json:"dtype"`
	Shape []uint64 `json:"shape"`
	Data  struct {
		Path   string `json:"path"`
		Offset uint64 `json:"offset"`
		Length uint64 `json:"length"`
	} `json:"data"`
}

func rejected(message, stage, code string) response {
	errorObject := map[string]string{"message": message}
	if stage != "" {
		errorObject["stage"] = stage
	}
	if code != "" {
		errorObject["code"] = code
	}
	return response{"result": "rejected", "error": errorObject}
}

func skipped(message string) response {
	return response{"result": "skipped", "message": message}
}

func errored(message string) response {
	return response{"result": "errored", "message": message}
}

// libraryVersion is the version of module path that the binary was built with.
func libraryVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == path {
				if dep.Replace != nil {
					return dep.Replace.Version
				}
				return dep.Version
			}
		}
	}
	return "unknown"
}

// mapFile maps a whole file read-only; an empty file gives an empty slice (mmap refuses
// length 0). The caller unmaps with unmapFile.
func mapFile(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() == 0 {
		return []byte{}, nil
	}
	return syscall.Mmap(int(file.Fd()), 0, int(info.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmapFile(data []byte) {
	if len(data) > 0 {
		_ = syscall.Munmap(data)
	}
}

// sourceBytes maps each tensor's source file and returns the requested byte ranges
// (no copy: tensors can be gigabytes) and a function that unmaps them.
func sourceBytes(tensors []writeTensor) ([][]byte, func(), error) {
	mapped := map[string][]byte{}
	release := func() {
		for _, data := range mapped {
			unmapFile(data)
		}
	}
	out := make([][]byte, len(tensors))
	for i, t := range tensors {
		if t.Data.Length == 0 {
			out[i] = []byte{}
			continue
		}
		data, ok := mapped[t.Data.Path]
		if !ok {
			var err error
			if data, err = mapFile(t.Data.Path); err != nil {
				release()
				return nil, nil, err
			}
			mapped[t.Data.Path] = data
		}
		end := t.Data.Offset + t.Data.Length
		if end < t.Data.Offset || end > uint64(len(data)) {
			release()
			return nil, nil, fmt.Errorf("tensor %q: bytes [%d, %d) lie outside %s", t.Name, t.Data.Offset, end, t.Data.Path)
		}
		out[i] = data[t.Data.Offset:end]
	}
	return out, release, nil
}

// replaceFile writes the target through a temporary file in the same directory and
// renames it over the target only when write succeeded; the libraries write to an
// io.Writer, so the file handling (WRITE-10) is the caller's, that is the adapter's.
func replaceFile(target string, write func(io.Writer) error) (libraryErr error, adapterErr error) {
	temp, err := os.CreateTemp(filepath.Dir(target), ".go-adapter-*.tmp")
	if err != nil {
		return nil, err
	}
	defer os.Remove(temp.Name()) // a no-op after the rename
	buffered := bufio.NewWriterSize(temp, 1<<20)
	if err := write(buffered); err != nil {
		temp.Close()
		return err, nil
	}
	if err := buffered.Flush(); err != nil {
		temp.Close()
		return nil, err
	}
	if err := temp.Close(); err != nil {
		return nil, err
	}
	return nil, os.Rename(temp.Name(), target)
}

// hasLoneSurrogate reports whether a JSON text holds a \uD800-\uDFFF escape that is not
// part of a surrogate pair. UTF-8, and so a Go string, has no encoding for one.
func hasLoneSurrogate(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(raw) && raw[i+1] == 'u' {
				unit, ok := hex4(raw, i+2)
				if ok && unit >= 0xD800 && unit <= 0xDBFF {
					low, okLow := uint32(0), false
					if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
						low, okLow = hex4(raw, i+8)
					}
					if !okLow || low < 0xDC00 || low > 0xDFFF {
						return true
					}
					i += 11
					continue
				}
				if ok && unit >= 0xDC00 && unit <= 0xDFFF {
					return true
				}
				i += 5
				continue
			}
			i++ // the escaped character
		}
	}
	return false
}

func hex4(raw []byte, at int) (uint32, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	var v uint32
	for _, c := range raw[at : at+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint32(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint32(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v |= uint32(c-'A') + 10
		default:
			return 0, false
		}
	}
	return v, true
}

// stringMetadata converts the request's metadata to the map[string]string the Go APIs take
// (nil for none). ok is false when a value is not a string: the API cannot be given it.
func stringMetadata(values map[string]any) (metadata map[string]string, ok bool) {
	if values == nil {
		return nil, true
	}
	metadata = make(map[string]string, len(values))
	for key, value := range values {
		s, isString := value.(string)
		if !isString {
			return nil, false
		}
		metadata[key] = s
	}
	return metadata, true
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// handle answers one request; a panic inside the library becomes `errored`.
func handle(req *request, raw []byte) (answer response) {
	defer func() {
		if recovered := recover(); recovered != nil {
			stack := strings.SplitN(string(debug.Stack()), "\n", 12)
			answer = errored(fmt.Sprintf("panic: %v\n%s", recovered, strings.Join(stack[:len(stack)-1], "\n")))
		}
	}()
	switch req.Cmd {
	case "start":
		return start()
	case "shutdown":
		return response{"result": "bye"}
	case "read":
		return read(req.Path)
	case "write":
		if hasLoneSurrogate(raw) {
			return skipped("a Go string is UTF-8, which cannot hold the request's lone surrogate, so the library cannot be given it")
		}
		return write(req)
	}
	return errored(fmt.Sprintf("unknown command %q", req.Cmd))
}

func emit(out *bufio.Writer, answer response) {
	encoder := json.NewEncoder(out)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(answer); err != nil {
		fmt.Fprintln(os.Stderr, "cannot encode response:", err)
		_ = encoder.Encode(errored("cannot encode response: " + err.Error()))
	}
	_ = out.Flush()
}

func main() {
	debug.SetGCPercent(400) // fewer collections while a 100 MB header is built
	out := bufio.NewWriter(protocolOut)
	if args := os.Args[1:]; len(args) > 0 {
		os.Exit(oneShot(out, args))
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			var answer response
			if jsonErr := json.Unmarshal(line, &req); jsonErr != nil {
				answer = errored("bad request: " + jsonErr.Error())
			} else {
				answer = handle(&req, line)
			}
			if req.Seq != nil {
				answer["seq"] = *req.Seq
			}
			emit(out, answer)
			if answer["result"] == "bye" {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func oneShot(out *bufio.Writer, args []string) int {
	switch {
	case args[0] == "start" && len(args) == 1:
		emit(out, handle(&request{Cmd: "start"}, nil))
	case args[0] == "read" && len(args) == 2:
		emit(out, handle(&request{Cmd: "read", Path: args[1]}, nil))
	case args[0] == "write" && len(args) == 2:
		raw, err := os.ReadFile(args[1])
		var req request
		if err == nil {
			err = json.Unmarshal(raw, &req)
		}
		if err != nil {
			emit(out, errored("bad request: "+err.Error()))
			return 0
		}
		emit(out, handle(&req, raw))
	default:
		fmt.Fprintln(os.Stderr, "usage: adapter [start | read FILE | write REQUEST.json]")
		return 2
	}
	return 0
}
