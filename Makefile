# Strongroom — build, dev stack, tests.  See README.md.
#
#   make deps    install the Debian packages the project needs (no-op when present)
#   make         build build/bin/{vaultd,gatewayd,vaultctl,gatewayctl,pspsim}
#   make up      start the dev stack under var/ (idempotent); make down stops it
#   make demo    deps + build + up + the main job + down
#   make check   deps + warning-free build + unit tests and the integration
#                suite, all under AddressSanitizer and UndefinedBehaviorSanitizer
#
# SAN=1 builds with ASan+UBSan into build/asan (used by make check).

SAN      ?= 0
ifeq ($(SAN),1)
BUILD    ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD    ?= build
SANFLAGS :=
endif
BIN      := $(BUILD)/bin
OBJ      := $(BUILD)/obj

CC       ?= cc
PKG      ?= pkg-config
WERROR   ?=
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra $(WERROR) -fstack-protector-strong \
            -D_FORTIFY_SOURCE=2 -fPIE -MMD -MP -I. $(SANFLAGS)
LDFLAGS  += -pie -Wl,-z,relro,-z,now $(SANFLAGS)

PKGS_COMMON  := jansson libmicrohttpd gnutls libsodium libpq
PKGS_VAULT   := p11-kit-1
PKGS_GATEWAY := libcurl

CFLAGS_COMMON := $(shell $(PKG) --cflags $(PKGS_COMMON) 2>/dev/null)
LIBS_COMMON   := $(shell $(PKG) --libs $(PKGS_COMMON) 2>/dev/null) -lpthread
CFLAGS_VAULT  := $(shell $(PKG) --cflags $(PKGS_VAULT) 2>/dev/null)
# mbedTLS 2.28 ships no pkg-config file (BRIEF.md pitfalls); http_parser neither.
LIBS_VAULT    := -lmbedtls -lmbedx509 -lmbedcrypto -lhttp_parser -ldl
CFLAGS_GW     := $(shell $(PKG) --cflags $(PKGS_GATEWAY) 2>/dev/null)
LIBS_GW       := $(shell $(PKG) --libs $(PKGS_GATEWAY) 2>/dev/null) -lm
CFLAGS   += $(CFLAGS_COMMON)

COMMON_SRC  := $(wildcard common/*.c)
HSM_SRC     := $(filter-out hsm/vaultctl.c,$(wildcard hsm/*.c))
VAULT_SRC   := $(filter-out vault/vaultd.c,$(wildcard vault/*.c vault/connectors/*.c))
GW_SRC      := $(filter-out gateway/gatewayd.c gateway/gatewayctl.c,$(wildcard gateway/*.c gateway/handlers/*.c))
PSPSIM_SRC  := $(wildcard tests/pspsim/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))
COMMON_OBJ := $(call objs,$(COMMON_SRC))
HSM_OBJ    := $(call objs,$(HSM_SRC))
VAULT_OBJ  := $(call objs,$(VAULT_SRC))
GW_OBJ     := $(call objs,$(GW_SRC))

PROGRAMS := $(BIN)/vaultd $(BIN)/vaultctl $(BIN)/gatewayd $(BIN)/gatewayctl $(BIN)/pspsim
UNIT_BIN := $(patsubst tests/unit/%.c,$(BIN)/tests/%,$(UNIT_SRC))

.PHONY: all deps up down demo check unit integration tests clean pki fuzz bench bench-payments
.SECONDARY:
all: $(PROGRAMS)
tests: $(UNIT_BIN)

# Per-directory flags: vault and hsm see pkcs11.h; gateway sees curl.
$(OBJ)/hsm/%.o $(OBJ)/vault/%.o $(OBJ)/tests/unit/test_vault%.o $(OBJ)/tests/unit/test_hsm%.o: CFLAGS += $(CFLAGS_VAULT)
$(OBJ)/gateway/%.o $(OBJ)/tests/unit/test_gw%.o $(OBJ)/tests/unit/test_sr%.o: CFLAGS += $(CFLAGS_GW)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BIN)/vaultd: $(OBJ)/vault/vaultd.o $(VAULT_OBJ) $(HSM_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_VAULT) $(LIBS_COMMON)
$(BIN)/vaultctl: $(OBJ)/hsm/vaultctl.o $(HSM_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -ldl $(LIBS_COMMON)
# gatewayd links no PKCS#11, mbedTLS or vault code (BRIEF invariant 1).
$(BIN)/gatewayd: $(OBJ)/gateway/gatewayd.o $(GW_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_GW) $(LIBS_COMMON)
$(BIN)/gatewayctl: $(OBJ)/gateway/gatewayctl.o $(GW_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_GW) $(LIBS_COMMON)
$(BIN)/pspsim: $(call objs,$(PSPSIM_SRC)) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COMMON)

# Unit tests (cmocka): test_sr_* link common; test_hsm_* and test_vault_* the
# vault side too; test_gw_* the gateway side.
$(BIN)/tests/test_sr_%: $(OBJ)/tests/unit/test_sr_%.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS_GW) $(LIBS_COMMON)
$(BIN)/tests/test_hsm_%: $(OBJ)/tests/unit/test_hsm_%.o $(HSM_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka -ldl $(LIBS_COMMON)
$(BIN)/tests/test_vault_%: $(OBJ)/tests/unit/test_vault_%.o $(VAULT_OBJ) $(HSM_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS_VAULT) $(LIBS_COMMON)
$(BIN)/tests/test_gw_%: $(OBJ)/tests/unit/test_gw_%.o $(GW_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS_GW) $(LIBS_COMMON)

# libFuzzer target for the gateway request parsers (issue 4): clang only.
FUZZ_SRC := gateway/gw_request.c gateway/gw_request_lifecycle.c gateway/gw_payment.c
fuzz: build/fuzz/fuzz_gw_request
build/fuzz/fuzz_gw_request: tests/fuzz/fuzz_gw_request.c $(FUZZ_SRC)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -I. $(CFLAGS_COMMON) -fsanitize=fuzzer,address,undefined \
	  -o $@ $^ $(shell $(PKG) --libs jansson libsodium 2>/dev/null)

# Benchmarks print figures; they are not tests (not run by make check).
bench: bench-payments
bench-payments: all
	@SR_BIN=$(BIN) scripts/bench_payments.sh

deps:
	@scripts/deps.sh

pki:
	@scripts/pki.sh

up: all
	@SR_BIN=$(BIN) scripts/up.sh

down:
	@scripts/down.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@SR_BIN=$(BIN) scripts/demo.sh

unit: tests
	@SR_BIN=$(BIN) tests/unit/run.sh

integration: all
	@SR_BIN=$(BIN) tests/integration/run.sh

# The README's test command. Everything runs under ASan+UBSan; the plain
# build is made too (warnings are errors) so `make` stays warning-free.
check: deps
	@$(MAKE) --no-print-directory WERROR=-Werror all
	@$(MAKE) --no-print-directory SAN=1 WERROR=-Werror all tests
	@$(MAKE) --no-print-directory fuzz
	@scripts/check.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
