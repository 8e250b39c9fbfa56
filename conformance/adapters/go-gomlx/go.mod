module safetensors-conformance/go-gomlx

go 1.26

require github.com/gomlx/go-huggingface v0.4.0

require (
	github.com/edsrzf/mmap-go v1.2.0 // indirect
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/gofrs/flock v0.13.0 // indirect
	github.com/gomlx/compute v0.0.0-20260716164435-04857206aff7 // indirect
	github.com/gomlx/gomlx v0.27.4-0.20260721090456-e838421fcd72 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	golang.org/x/exp v0.0.0-20260410095643-746e56fc9e2f // indirect
	golang.org/x/sys v0.43.0 // indirect
	k8s.io/klog/v2 v2.140.0 // indirect
)
