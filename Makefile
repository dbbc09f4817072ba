# Build, test and run the MFA service. `sam build` calls the build-<LogicalId> targets
# (BuildMethod: makefile) with ARTIFACTS_DIR set; by hand they build into build/<dir>.

# Every function in template.yaml, as LogicalId:directory-under-functions.
# Adding a function is one line here.
FUNCTIONS := \
	EnrollmentFunction:enrollment \
	ChallengeFunction:challenge \
	VerifyFunction:verify \
	AdminFunction:admin \
	JwksFunction:jwks \
	UiFunction:ui \
	CognitoDefineFunction:cognito-define \
	CognitoCreateFunction:cognito-create \
	CognitoVerifyFunction:cognito-verify \
	EventPublisherFunction:event-publisher \
	AuditWriterFunction:audit-writer

GO ?= go
# Ports of the local stack (`make run`); the environment or the command line may override.
MOTO_PORT ?= 4566
PORT ?= 3000

# Lambda runs provided.al2023 on arm64: a static binary named bootstrap. lambda.norpc drops
# the legacy RPC mode that this runtime never uses; -s -w and -trimpath keep it small.
LAMBDA_ENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags="-s -w"

.DEFAULT_GOAL := build

# function_target(LogicalId, dir) defines build-LogicalId.
define function_target
.PHONY: build-$(1)
build-$(1): ARTIFACTS_DIR ?= build/$(2)
build-$(1):
	@mkdir -p "$$(ARTIFACTS_DIR)"
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_BUILD_FLAGS) -o "$$(ARTIFACTS_DIR)/bootstrap" ./functions/$(2)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call function_target,$(word 1,$(subst :, ,$(f))),$(word 2,$(subst :, ,$(f))))))

.PHONY: build
build: $(foreach f,$(FUNCTIONS),build-$(word 1,$(subst :, ,$(f))))

# Installs what the tests need, each only when missing: moto, cfn-lint, and Debian's chromium
# for the browser tests (pkg/browsertest), which fail without it. The local stack needs only
# moto (tools-run): no browser, no root.
.PHONY: tools tools-run
tools:
	@bash infra/tools.sh test
tools-run:
	@bash infra/tools.sh run

# gotestsum shows `go test` package by package as each finishes (go run fetches the pinned
# version through the module proxy once, then builds from the cache).
GOTESTSUM ?= $(GO) run gotest.tools/gotestsum@v1.13.0

.PHONY: test
test: tools
	@unformatted="$$(gofmt -l .)" || exit 1; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@mkdir -p build
	@# Progress a package at a time; the whole run's events go to build/go-test.json, from
	@# which the slowest packages are printed at the end (also when a test fails).
	@$(GOTESTSUM) --format pkgname-and-test-fails --jsonfile build/go-test.json -- -race -count=1 ./...; \
	status=$$?; $(GO) run ./infra/testreport build/go-test.json; exit $$status
	cfn-lint template.yaml
	$(MAKE) build

.PHONY: run
run: tools-run
	@mkdir -p build
	$(GO) build -o build/local-stack ./infra/local
	@# Run the binary itself (not `go run`), so a signal to make's child reaches the stack,
	@# which then stops moto too.
	MOTO_PORT=$(MOTO_PORT) PORT=$(PORT) exec ./build/local-stack

.PHONY: clean
clean:
	rm -rf build .aws-sam

# Fuzzing: each go test -fuzz target in turn, for FUZZTIME each (go test takes one package
# and one target per run). Plain `go test` (and `make test`) runs their checked-in seeds in
# pkg/<package>/testdata/fuzz/<Target>; what a run finds goes to the Go build cache, and a
# failing input to that testdata directory, to be kept as a regression seed.
FUZZTIME ?= 20s
FUZZ_TARGETS := \
	httpapi:FuzzDecodeBody \
	httpapi:FuzzDecodeBodyAcceptsDocumentedShapes \
	httpapi:FuzzHandlerNever500 \
	mfa:FuzzNormalizeOTP \
	mfa:FuzzNormalizeBackupCode \
	mfa:FuzzCleanLabel \
	passkey:FuzzFinishRegistration \
	passkey:FuzzFinishLogin \
	cognito:FuzzDefineSession \
	cognito:FuzzLooksLikeBackupCode \
	policy:FuzzPolicyJSON

.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "== $$name (./pkg/$$pkg, $(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) ./pkg/$$pkg; \
	done

# A bounded soak through the local gateway (TestSoak in infra/local): 50 concurrent users for a
# minute; prints journeys per second and latency percentiles.
.PHONY: soak
soak: tools-run
	SOAK_DURATION=60s SOAK_USERS=50 $(GO) test -race=false -count=1 -run '^TestSoak$$' -v ./infra/local

# Performance report (DESIGN §8), not a test: handler benchmarks against moto, DynamoDB round
# trips and request units, binary sizes of `make build`, cold starts of each bootstrap through a
# local Lambda Runtime API, cost per 1M requests. Prints the budget table, writes
# build/bench/report.json, and fails when a round-trip budget is exceeded. (-trimpath lets the
# program share compiled packages with the host builds it makes for the cold starts.)
.PHONY: bench
bench: tools-run build
	$(GO) run -trimpath ./infra/bench -build=false -functions "$(FUNCTIONS)"
