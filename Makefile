# tokenctl — build, test, demo. `make test` is what CI runs (.ci/run).
GO      ?= go
BIN     := bin
PKG     := github.com/tokenctl/tokenctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X $(PKG)/internal/version.Version=$(VERSION) \
           -X $(PKG)/internal/version.Commit=$(COMMIT) -X $(PKG)/internal/version.Date=$(DATE)

.PHONY: all build test test-short vet fmt-check generate demo clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# The whole suite: vet, gofmt, then every test with the race detector inside
# a private D-Bus session with a real, unlocked gnome-keyring.
test: vet fmt-check
	CGO_ENABLED=0 $(GO) build ./...
	.ci/keyring-session $(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

clean:
	rm -rf $(BIN) dist

# Regenerate man pages, the markdown command reference and completions.
generate:
	$(GO) run ./internal/docgen/gen

# Build both binaries and run the whole product once on a throw-away server.
demo: build
	BIN=$(BIN) .ci/demo.sh
