# heronkit: the deployment side of Apache Heron as small static Go binaries.
#
#   make build   build every heron-* binary into bin/
#   make check   install the test servers, then run every test (what CI runs)
#   make test    run every test (servers must be installed: make servers)
#   make bench   run benchmarks and load runs, printing figures
#   make demo    start a local cluster and run the example word count
#   make gen     regenerate protobuf code, man pages and completions
#   make dist    build dist/heron-core.tar.gz, the core package schedulers fetch
#   make fmt     format the code;  make lint  vet it

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/heronkit/heronkit/lib/cli.Version=$(VERSION)
BINARIES  := $(notdir $(wildcard cmd/heron-*))
export CGO_ENABLED ?= 0

.PHONY: all build check test servers bench demo dist gen fmt lint clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

servers:
	bash .ci/install-servers

check: servers build
	$(MAKE) test

test:
	$(GO) vet ./...
	PATH="$(CURDIR)/$(BIN):$$PATH" $(GO) test -count=1 -timeout 20m ./...

bench: build
	PATH="$(CURDIR)/$(BIN):$$PATH" $(GO) test -run '^$$' -bench . -benchtime 2s -timeout 30m ./...

demo: build
	bash examples/demo.sh

dist: build
	bash .ci/dist.sh

gen:
	bash lib/proto/gen.sh
	$(GO) test ./lib/binaries -run TestGeneratedDocsAreCurrent -update

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: run make fmt"; exit 1)

clean:
	rm -rf $(BIN) dist
