# apie — build, run, test, bench. Static binaries: CGO_ENABLED=0, -trimpath.
SHELL   := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X apie/app.Version=$(VERSION)
GOBUILD := CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)'
ADDR    ?= 127.0.0.1:8000
FUZZTIME ?= 60s
SMOKETIME ?= 3s
# The fuzz targets that guard input from outside (see scripts/fuzz.sh) get
# this much in make test; .ci/run gives them 20s.
INPUTFUZZTIME ?= $(SMOKETIME)

.PHONY: all build run test test-go test-js fuzz fuzz-smoke bench reliability dist clean

all: build

## build: bin/apie-cgi and bin/apie-serve for this machine
build:
	$(GOBUILD) -o bin/apie-cgi ./cmd/apie-cgi
	$(GOBUILD) -o bin/apie-serve ./cmd/apie-serve

## run: build, then serve ./apie-data on $(ADDR) (a first user is created and its password printed)
run: build
	./bin/apie-serve -addr $(ADDR)

## test: vet, every test with the race detector (the browser tests of the page among them), the JS client's tests, then a short run of every fuzz target
test: test-go test-js fuzz-smoke

## test-js: the JavaScript client's tests (Node 20+), against an apie-serve they build and start
test-js:
	@if command -v node >/dev/null 2>&1; then node --test clients/js/test/; \
	elif [ -n "$$APIE_REQUIRE_NODE" ]; then echo "test-js: node not found (APIE_REQUIRE_NODE is set)" >&2; exit 1; \
	else echo "test-js: node not found: the JS client's tests are skipped (.ci/run installs nodejs)"; fi

test-go:
	go vet ./...
	go test -race -count=1 -timeout 30m ./...

## fuzz-smoke: each fuzz target for $(SMOKETIME), those that guard outside input for $(INPUTFUZZTIME)
fuzz-smoke:
	@scripts/fuzz.sh $(SMOKETIME) $(INPUTFUZZTIME)

## fuzz: each fuzz target for $(FUZZTIME) (FUZZTIME=10m make fuzz for a long run)
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

## bench: the benchmark suite; writes BENCHMARKS.md
bench:
	go run ./cmd/apie-bench -out BENCHMARKS.md

## reliability: run the fault tests (kill -9, power loss on lazyfs: over 1,000 cuts, full disk, damage, hostile input); writes RELIABILITY.md
reliability:
	APIE_RELIABILITY_OUT=$(CURDIR)/RELIABILITY.md go test -count=1 -timeout 60m ./faults/

## dist: static binaries for linux/amd64 and linux/arm64 in dist/
dist:
	for arch in amd64 arm64; do \
	  GOOS=linux GOARCH=$$arch $(GOBUILD) -o dist/linux-$$arch/apie-cgi ./cmd/apie-cgi && \
	  GOOS=linux GOARCH=$$arch $(GOBUILD) -o dist/linux-$$arch/apie-serve ./cmd/apie-serve || exit 1; \
	done
	ls -l dist/*/

clean:
	rm -rf bin dist
