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
	CognitoDefineFunction:cognito-define \
	CognitoCreateFunction:cognito-create \
	CognitoVerifyFunction:cognito-verify

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

# Installs what the tests and the local stack need, each only when missing: moto, cfn-lint,
# and Debian's chromium for the browser tests (pkg/browsertest), which fail without it.
.PHONY: tools
tools:
	@bash infra/tools.sh

.PHONY: test
test: tools
	@unformatted="$$(gofmt -l .)" || exit 1; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	cfn-lint template.yaml
	$(MAKE) build

.PHONY: run
run: tools
	MOTO_PORT=$(MOTO_PORT) PORT=$(PORT) $(GO) run ./infra/local

.PHONY: clean
clean:
	rm -rf build .aws-sam
