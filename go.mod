module apie

go 1.26.8

require (
	github.com/gofrs/flock v0.13.1
	github.com/gowebpki/jcs v1.0.2
	github.com/minio/sha256-simd v1.0.1
	golang.org/x/crypto v0.58.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require (
	github.com/hanwen/go-fuse/v2 v2.12.1 // indirect
	github.com/klauspost/cpuid/v2 v2.2.3 // indirect
)
