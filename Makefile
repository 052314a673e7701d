# roam's build and test entry points. `make test` is the one command that runs
# the whole suite on a fresh machine; .ci/run calls exactly it.

GO       ?= go
PKGS     := ./...

.PHONY: all build test deps check unit race clean

all: build

build:
	$(GO) build -o bin/roam ./cmd/roam

# deps installs what the tests need if it is missing (Debian packages).
deps:
	bash scripts/test-deps.sh

# check: formatting and vet.
check:
	@fmt="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$fmt" ]; then echo "gofmt would change:"; echo "$$fmt"; exit 1; fi
	$(GO) vet $(PKGS)

# unit: the whole suite with the race detector, with a throwaway PostgreSQL
# cluster (scripts/pg-test-cluster.sh: initdb + pg_ctl on a free port of
# 127.0.0.1) whose DSN is in ROAM_TEST_POSTGRES, so the store conformance suite
# runs against both backends. The script stops and removes the cluster however
# the tests end (trap, and a watcher should the script itself be killed).
unit:
	bash scripts/pg-test-cluster.sh run $(GO) test -race -count=1 -timeout 30m $(PKGS)

test: deps check unit

clean:
	rm -rf bin
