# tokenctl — build, test, demo. CI (.ci/run) runs `make test-race`.
GO      ?= go
BIN     := bin
PKG     := github.com/tokenctl/tokenctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X $(PKG)/internal/version.Version=$(VERSION) \
           -X $(PKG)/internal/version.Commit=$(COMMIT) -X $(PKG)/internal/version.Date=$(DATE)

.PHONY: all build test test-race test-short vet fmt-check generate demo clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# The whole suite: vet, gofmt, then every test — keyring and end-to-end
# included — inside a private D-Bus session with a real, unlocked
# gnome-keyring. No race detector: a race build of every package (the
# pure-Go SQLite among them) takes most of half an hour on a fresh 2-core
# machine, so it runs where it pays: `make test-race`, which CI runs.
# The race detector costs a newcomer many minutes of compiling (a race build
# of the pure-Go SQLite), so it runs where it pays: in CI (CI=true) and in
# `make test-race`.
RACE ?= $(if $(filter true,$(CI)),-race,)

test: vet fmt-check
	CGO_ENABLED=0 $(GO) build ./...
	.ci/keyring-session $(GO) test $(RACE) -count=1 -timeout 60m ./...
	# The real gitleaks over our rule files: a nested module, so its large
	# dependency tree stays out of the main go.mod (docs/secret-scanning.md);
	# its go.work puts this module beside it, so a bump here needs no edit there.
	cd scanning/gitleakstest && $(GO) vet ./... && $(GO) test -count=1 ./...

# The same suite under the race detector (needs cgo, i.e. a C compiler).
test-race:
	$(MAKE) test RACE=-race

test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l cmd internal scanning); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

clean:
	rm -rf $(BIN) dist

# Regenerate man pages, the markdown command reference and completions.
generate:
	$(GO) run ./internal/docgen/gen

# Build both binaries and run the whole product once on a throw-away server.
demo: build
	BIN=$(BIN) .ci/demo.sh
