module safetensors-conformance/go-nlpodyssey

go 1.22

require github.com/nlpodyssey/safetensors v0.0.0-20250209183917-bfb01cc25f7c
