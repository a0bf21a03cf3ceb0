# AIGNE Hub in Go. `make run` starts the hub with the bundled emulator;
# `make test` runs every test. Both build what they need first.

GO        ?= go
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PLUGINS   := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))
WASM      := $(foreach p,$(PLUGINS),plugins/wasm/$(p).wasm)
EMULATOR_ADDR ?= 127.0.0.1:8081

# Examples with a module of their own (go.mod), built against sdk/ as a third
# party would: each examples/NAME builds to bin/NAME.wasm.
EXAMPLES  := billing-policy
EXAMPLE_WASM := $(foreach e,$(EXAMPLES),bin/$(e).wasm)

.PHONY: all build plugins examples run test test-short bench vet fmt clean sdk-deps web web-deps e2e-deps

all: build

plugins: $(WASM)

# Each built-in plugin is a Go wasip1 reactor; the hub binary embeds them.
plugins/wasm/%.wasm: $(shell find plugins sdk -name '*.go' -not -name '*_test.go') go.mod sdk/go.mod
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -ldflags="-s -w" -o $@ ./plugins/$*

examples: $(EXAMPLE_WASM) bin/as-provider.wasm

bin/%.wasm: $(shell find examples sdk -name '*.go' -not -name '*_test.go') sdk/go.mod examples/%/go.mod
	cd examples/$* && GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -ldflags="-s -w" -o ../../$@ .

# The npm projects (examples/as-provider, web, tests/sdk, tests/e2e) pin
# their packages in package-lock.json: npm ci installs them when DIR's
# node_modules is missing or older than the lockfile; its stamp is
# DIR/node_modules/.package-lock.json, which npm writes.
%/node_modules/.package-lock.json: %/package.json %/package-lock.json
	npm ci --prefix $* --ignore-scripts --no-audit --no-fund
	touch $@

# The AssemblyScript provider (examples/as-provider), written from sdk/ABI.md
# alone: its compiler is pinned in its package-lock.json and installed with
# npm ci, like the SDK test clients below. An explicit rule, so the Go
# examples' pattern rule does not apply.
AS_DIR   := examples/as-provider
AS_STAMP := $(AS_DIR)/node_modules/.package-lock.json

bin/as-provider.wasm: $(AS_STAMP) $(AS_DIR)/asconfig.json $(wildcard $(AS_DIR)/assembly/*.ts)
	cd $(AS_DIR) && node_modules/.bin/asc assembly/index.ts --target release --outFile ../../$@

# The dashboard (web/): a React app that Vite builds into web/dist, which the
# hub binary embeds (web/embed.go). npm ci runs when node_modules is missing
# or older than the lockfile; the build when a source is newer than its output.
WEB_STAMP := web/node_modules/.package-lock.json
WEB_SRC   := $(shell find web/src -type f) web/index.html web/vite.config.ts web/tsconfig.json

web-deps: $(WEB_STAMP)

web: web/dist/index.html

web/dist/index.html: $(WEB_STAMP) $(WEB_SRC)
	npm run --prefix web build

build: plugins examples web
	$(GO) build -trimpath -ldflags="$(LDFLAGS)" -o bin/hub ./cmd/hub
	$(GO) build -trimpath -ldflags="$(LDFLAGS)" -o bin/emulator ./cmd/emulator

# Without OPENAI_API_KEY the openai provider is served by the bundled
# emulator; with it, by the real API.
run: build
	@if [ -z "$$OPENAI_API_KEY" ]; then \
	  echo "OPENAI_API_KEY is not set: serving the openai provider from the emulator on $(EMULATOR_ADDR)"; \
	  bin/emulator -listen $(EMULATOR_ADDR) & emu=$$!; \
	  trap 'kill $$emu 2>/dev/null' EXIT INT TERM; \
	  OPENAI_BASE_URL=http://$(EMULATOR_ADDR)/v1 OPENAI_API_KEY=emulator bin/hub serve -config hub.toml; \
	else \
	  bin/hub serve -config hub.toml; \
	fi

vet:
	$(GO) vet ./...
	cd sdk && $(GO) vet ./... && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...
	for e in $(EXAMPLES); do (cd examples/$$e && $(GO) vet ./... && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...) || exit 1; done

# The official client SDKs (openai, @anthropic-ai/sdk, @aigne/aigne-hub),
# pinned in tests/sdk/package-lock.json, which host/app's TestOfficialSDKs
# runs against a hub: installed from the npm registry when node_modules is
# missing or older than the lockfile.
SDK_STAMP := tests/sdk/node_modules/.package-lock.json

sdk-deps: $(SDK_STAMP)

# playwright-core for the dashboard's browser test (host/app's
# TestDashboardE2E, which drives Debian's chromium: .ci/run installs it).
E2E_STAMP := tests/e2e/node_modules/.package-lock.json

e2e-deps: $(E2E_STAMP)

test: plugins examples web vet sdk-deps e2e-deps
	cd sdk && $(GO) test -race ./...
	$(GO) test -race -timeout 20m ./...
	for e in $(EXAMPLES); do (cd examples/$$e && $(GO) test -race ./...) || exit 1; done

bench: build
	$(GO) run ./cmd/hubbench -hub bin/hub -emulator bin/emulator
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./host/proxy/ ./runtime/ ./host/billing/
	$(GO) test -run '^$$' -bench Wasm -benchmem ./plugins/...
	for e in $(EXAMPLES); do (cd examples/$$e && $(GO) test -run '^$$' -bench Wasm -benchmem ./...) || exit 1; done

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin plugins/wasm/*.wasm
