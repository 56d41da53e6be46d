# Strongroom — build, dev stack, tests.  See README.md.
#
#   make deps    install the Debian packages the project needs (no-op when present)
#   make         build build/bin/{vaultd,gatewayd,vaultctl,gatewayctl,pspsim}
#   make up      start the dev stack under var/ (idempotent); make down stops it
#   make demo    deps + build + up + the main job + down
#   make check   deps + warning-free build + unit tests and the integration
#                suite, all under AddressSanitizer and UndefinedBehaviorSanitizer
#                (and make deb, which the booted appliance test installs;
#                CHECK_DEB=0 leaves both out)
#   make deb     Debian packages into build/deb/, lintian-clean (ADR 0123)
#   make appliance-test  install the packages of make deb on a fresh Debian 12, boot it (systemd-nspawn), pay
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
# mbedTLS 2.28 ships no pkg-config file (docs/development.md, pitfalls); http_parser neither.
LIBS_VAULT    := -lmbedtls -lmbedx509 -lmbedcrypto -lhttp_parser -ldl
CFLAGS_GW     := $(shell $(PKG) --cflags $(PKGS_GATEWAY) 2>/dev/null)
LIBS_GW       := $(shell $(PKG) --libs $(PKGS_GATEWAY) 2>/dev/null) -lm
CFLAGS   += $(CFLAGS_COMMON)

COMMON_SRC  := $(wildcard common/*.c)
HSM_SRC     := $(wildcard hsm/*.c)
# vaultctl's ceremony code (issue 7): transcript, custodians; uses libcrypto,
# so it is linked into vaultctl and the hsm unit tests, never into vaultd.
CTL_SRC     := $(wildcard hsm/ceremonies/*.c)
# Each capability is a folder (docs/architecture.md); the zones' sources are
# every .c below them but the daemons' and tools' mains and vault/ctl/.
VAULT_SRC   := $(filter-out vault/vaultd.c,$(wildcard vault/*.c vault/*/*.c vault/connectors/*/*.c))
VAULT_SRC   := $(filter-out vault/ctl/%,$(VAULT_SRC))
VAULTCTL_SRC := $(wildcard vault/ctl/*.c)
GW_SRC      := $(filter-out gateway/gatewayd.c gateway/ctl/%,$(wildcard gateway/*.c gateway/*/*.c))
GWCTL_SRC   := $(wildcard gateway/ctl/*.c)
PSPSIM_SRC  := $(wildcard tests/pspsim/*.c)
# cmocka tests: tests/unit/ and the attack suite's C tests (tests/attack/, issue 15).
UNIT_SRC    := $(wildcard tests/unit/test_*.c tests/attack/test_*.c)

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))
# Every program links common/, and with it the build's version and commit.
COMMON_OBJ := $(call objs,$(COMMON_SRC)) $(OBJ)/gen/sr_version.o
HSM_OBJ    := $(call objs,$(HSM_SRC))
CTL_OBJ    := $(call objs,$(CTL_SRC))
VAULT_OBJ  := $(call objs,$(VAULT_SRC)) $(OBJ)/gen/vault_static_data.o
GW_OBJ     := $(call objs,$(GW_SRC))

PROGRAMS := $(BIN)/vaultd $(BIN)/vaultctl $(BIN)/gatewayd $(BIN)/gatewayctl $(BIN)/pspsim $(BIN)/panscan
# Test-only: the merchant webhook receiver of the integration tests (issue 5).
PROGRAMS += $(BIN)/whsink
UNIT_BIN := $(addprefix $(BIN)/tests/,$(basename $(notdir $(UNIT_SRC))))

.PHONY: FORCE man deb all deps up down demo check unit integration faults tests clean pki install uninstall install-check segmentation compliance layout openapi systemd-verify appliance-test fuzz-panscan checkout fuzz bench bench-payments
.SECONDARY:
all: $(PROGRAMS)
tests: $(UNIT_BIN)

# Per-directory flags: vault and hsm see pkcs11.h; gateway sees curl.
$(OBJ)/hsm/%.o $(OBJ)/vault/%.o $(OBJ)/tests/unit/test_vault%.o $(OBJ)/tests/unit/test_hsm%.o \
  $(OBJ)/tests/attack/test_vault%.o $(OBJ)/tests/attack/test_hsm%.o: CFLAGS += $(CFLAGS_VAULT)
$(OBJ)/gateway/%.o $(OBJ)/tests/unit/test_gw%.o $(OBJ)/tests/unit/test_sr%.o \
  $(OBJ)/tests/attack/test_gw%.o $(OBJ)/tests/attack/test_sr%.o: CFLAGS += $(CFLAGS_GW)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# vault/elements/static/ (strongroom.js, the hosted card fields) embedded into vaultd
# at build time (ADR 0030); the generated file also carries each file's SRI hash.
VAULT_STATIC := $(sort $(wildcard vault/elements/static/*.js vault/elements/static/*.html vault/elements/static/*.css))
$(BUILD)/gen/vault_static_data.c: $(VAULT_STATIC) scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh $@ $(VAULT_STATIC)
$(OBJ)/gen/vault_static_data.o: $(BUILD)/gen/vault_static_data.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# --version (common/sr_version.h): the release and the commit. The generator
# runs on every make but rewrites the file only when the commit changes.
SR_VERSION := 0.1.0
$(BUILD)/gen/sr_version.c: FORCE
	@mkdir -p $(dir $@)
	@scripts/version.sh $@ $(SR_VERSION)
$(OBJ)/gen/sr_version.o: $(BUILD)/gen/sr_version.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
FORCE:

$(BIN)/vaultd: $(OBJ)/vault/vaultd.o $(VAULT_OBJ) $(HSM_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_VAULT) $(LIBS_COMMON)
$(BIN)/vaultctl: $(call objs,$(VAULTCTL_SRC)) $(OBJ)/vault/audit/vault_audit.o $(OBJ)/vault/crypto/vault_keys.o \
                $(OBJ)/vault/crypto/vault_tls_key.o \
                $(OBJ)/vault/crypto/vault_crypto.o $(OBJ)/vault/connectors/vault_psp_creds.o \
                $(OBJ)/vault/connectors/vault_psp_platform.o \
                $(OBJ)/vault/tokens/vault_token.o $(OBJ)/vault/tokens/vault_card.o $(CTL_OBJ) $(HSM_OBJ) \
                $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -ldl -lcrypto $(LIBS_COMMON)
# gatewayd links no PKCS#11, mbedTLS or vault code (invariant 1, docs/invariants.md).
$(BIN)/gatewayd: $(OBJ)/gateway/gatewayd.o $(GW_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_GW) $(LIBS_COMMON)
$(BIN)/gatewayctl: $(call objs,$(GWCTL_SRC)) $(GW_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_GW) $(LIBS_COMMON)
$(BIN)/pspsim: $(call objs,$(PSPSIM_SRC)) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_GW) $(LIBS_COMMON)
$(BIN)/whsink: $(OBJ)/tests/whsink/whsink.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COMMON)
# panscan: the PAN scanner the tests and a QSA run (compliance/pci_dss/pci_scope.md).
$(BIN)/panscan: $(OBJ)/tools/panscan.o $(OBJ)/common/sr_panscan.o $(OBJ)/common/sr_version.o \
                $(OBJ)/gen/sr_version.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COMMON)

# Unit tests (cmocka): test_sr_* link common; test_hsm_* and test_vault_* the
# vault side too; test_gw_* the gateway side. Each links tests/unit/fixture.o
# (the shared fixtures: it uses common/ only, so it needs no per-zone flags).
FIXTURE_OBJ := $(OBJ)/tests/unit/fixture.o
# One set of link rules per test folder (tests/unit, tests/attack).
define unit_rules
$(BIN)/tests/test_sr_%: $(OBJ)/tests/$(1)/test_sr_%.o $(FIXTURE_OBJ) $(COMMON_OBJ)
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS) -o $$@ $$^ -lcmocka $(LIBS_GW) $(LIBS_COMMON)
$(BIN)/tests/test_hsm_%: $(OBJ)/tests/$(1)/test_hsm_%.o $(FIXTURE_OBJ) $(CTL_OBJ) $(HSM_OBJ) $(COMMON_OBJ)
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS) -o $$@ $$^ -lcmocka -ldl -lcrypto $(LIBS_COMMON)
$(BIN)/tests/test_vault_%: $(OBJ)/tests/$(1)/test_vault_%.o $(FIXTURE_OBJ) $(VAULT_OBJ) $(HSM_OBJ) $(COMMON_OBJ)
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS) -o $$@ $$^ -lcmocka $(LIBS_VAULT) $(LIBS_COMMON)
$(BIN)/tests/test_gw_%: $(OBJ)/tests/$(1)/test_gw_%.o $(FIXTURE_OBJ) $(GW_OBJ) $(COMMON_OBJ)
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS) -o $$@ $$^ -lcmocka $(LIBS_GW) $(LIBS_COMMON)
endef
$(foreach d,unit attack,$(eval $(call unit_rules,$(d))))

# libFuzzer targets (clang, ASan+UBSan): tests/fuzz/fuzz_*.c, each linked
# with the sources it exercises. make check runs them briefly.
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all $(CFLAGS_COMMON)
fuzz: build/fuzz/fuzz_token_request build/fuzz/fuzz_gw_request build/fuzz/fuzz_psp_webhook \
      build/fuzz/fuzz_gw_source
build/fuzz/fuzz_token_request: tests/fuzz/fuzz_token_request.c vault/tokens/vault_card.c common/sr_secret.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(LIBS_COMMON)

# libFuzzer target for the gateway request parsers (issue 4).
FUZZ_GW_SRC := gateway/api/gw_request.c gateway/api/gw_request_lifecycle.c gateway/payments/gw_payment.c \
  common/sr_panscan.c common/sr_util.c
build/fuzz/fuzz_gw_request: tests/fuzz/fuzz_gw_request.c $(FUZZ_GW_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(shell $(PKG) --libs jansson libsodium 2>/dev/null)

# libFuzzer target for the CIDR and X-Forwarded-For parsers (issue 28).
build/fuzz/fuzz_gw_source: tests/fuzz/fuzz_gw_source.c gateway/api/gw_source.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

# libFuzzer target for what PSPs send (issue 5): Stripe-Signature, Stripe
# events, Adyen notifications (per-item HMAC) and Adyen's payment answers.
FUZZ_PSP_SRC := vault/connectors/adyen/adyen.c vault/connectors/adyen/adyen_dispute.c vault/connectors/adyen/adyen_webhook.c vault/connectors/stripe/stripe.c vault/connectors/stripe/stripe_webhook.c \
                vault/connectors/formenc.c vault/connectors/connector.c \
                vault/connectors/vault_egress.c vault/connectors/vault_egress_key.c common/sr_secret.c common/sr_log.c common/sr_util.c
build/fuzz/fuzz_psp_webhook: tests/fuzz/fuzz_psp_webhook.c $(FUZZ_PSP_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lmbedtls -lmbedx509 -lmbedcrypto -lhttp_parser $(LIBS_COMMON)

# Benchmarks (make bench): figures, not tests. Built from the plain build.
BENCH_BIN := $(BIN)/bench/bench_hsm $(BIN)/bench/bench_http200 $(BIN)/bench/bench_idle \
             $(BIN)/bench/bench_tls_handshake
$(BIN)/bench/bench_tls_handshake: $(OBJ)/tests/bench/bench_tls_handshake.o \
                                  $(OBJ)/vault/crypto/vault_tls_key.o $(HSM_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -ldl $(LIBS_COMMON)
$(BIN)/bench/bench_hsm: $(OBJ)/tests/bench/bench_hsm.o $(HSM_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -ldl $(LIBS_COMMON)
$(BIN)/bench/bench_http200: $(OBJ)/tests/bench/bench_http200.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COMMON)
$(BIN)/bench/bench_idle: $(OBJ)/tests/bench/bench_idle.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl -lpthread
$(OBJ)/tests/bench/%.o: CFLAGS += $(CFLAGS_VAULT)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@SR_BIN=$(BIN) scripts/bench.sh
	@SR_BIN=$(BIN) scripts/bench_payments.sh
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

# The example merchant checkout (examples/checkout/): make up (which starts
# it) and print its URL; the stack keeps running until make down.
checkout: all
	@SR_BIN=$(BIN) scripts/checkout.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@SR_BIN=$(BIN) scripts/demo.sh

unit: tests
	@SR_BIN=$(BIN) tests/unit/run.sh

integration: all
	@SR_BIN=$(BIN) tests/integration/run.sh

# The fault suite (issue 16): a bounded payment load per fault (daemons
# killed, PostgreSQL restarted or down, connections terminated, the PSP slow
# or dropping answers, the HSM token away), audited three ways. Part of make
# check with short loads; longer: FAULT_SECONDS=60 FAULT_CLIENTS=16 make faults.
faults: all
	@SR_BIN=$(BIN) tests/faults/run.sh

# iac/: zone rulesets proven in network namespaces with the real daemons
# (report in build/segmentation/); needs root.
segmentation: all
	@SR_BIN=$(BIN) iac/segmentation/run.sh

# Fuzzing (not part of make check): libFuzzer on the PAN scanner, 60 s. Needs
# clang and libclang-rt-dev, which make deps does not install (optional tool).
FUZZ_CC ?= clang
fuzz-panscan:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz-panscan: needs clang and libclang-rt-dev (apt-get install clang libclang-rt-dev)"; exit 1; }
	@mkdir -p build/fuzz/corpus
	$(FUZZ_CC) -g -O1 -std=c11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -o build/fuzz/fuzz_panscan tests/fuzz/fuzz_panscan.c common/sr_panscan.c -lsodium
	build/fuzz/fuzz_panscan -max_total_time=$${FUZZ_SECONDS:-60} -max_len=4096 build/fuzz/corpus tests/fuzz/corpus_panscan 2>&1 | tail -5

# compliance/: every citation in the documents resolves (file:NAME, doc.md#heading),
# every requirement cited exists, every PCI DSS citation in the code is in the
# control matrix, nothing refers outside the repository; self-tested by mutants.
compliance:
	@compliance/check.sh

# docs/openapi.yaml and docs/openapi-vault.yaml: Redocly CLI's recommended
# rules, warnings as errors (tests/openapi/redocly.yaml, ADR 0130). The
# integration suite validates every response against them (t_openapi_responses).
openapi: deps
	@scripts/openapi_lint.sh

# The house rules a script can check (docs/architecture.md, folder map):
# includes point down only, no source file over 1,000 lines, every source
# folder in the map.
layout:
	@scripts/layout_check.sh

# systemd/: units verified and scored <= 2.0 (systemd-analyze, offline).
systemd-verify: all
	@SR_BIN=$(BIN) systemd/verify.sh

# The appliance booted (tests/appliance/run.sh): a fresh Debian 12 root
# (debootstrap, cached in var/appliance/), Strongroom installed, booted with
# systemd-nspawn, provisioned as README.md "Install on a server" says, the
# main job run against it; systemd-analyze security of the running units.
appliance-test: all
	@SR_BIN=$(BIN) tests/appliance/run.sh

# The README's test command. Everything runs under ASan+UBSan; the plain
# build is made too (warnings are errors) so `make` stays warning-free.
check: deps
	@$(MAKE) --no-print-directory WERROR=-Werror all
	@$(MAKE) --no-print-directory SAN=1 WERROR=-Werror all tests
	@$(MAKE) --no-print-directory fuzz
	@if [ "$(CHECK_DEB)" != 0 ]; then $(MAKE) --no-print-directory deb; else \
	  echo "check: Debian packages and the booted appliance SKIPPED (CHECK_DEB=0)"; fi
	@$(if $(filter 0,$(CHECK_DEB)),SR_APPLIANCE_TEST=0) scripts/check.sh

# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=...]: the layout the
# systemd units expect (systemd/install.sh says what goes where; with
# PREFIX=/usr the units are installed unchanged): daemons in
# PREFIX/libexec/strongroom, tools in bin, units, the sysusers file, the
# sample /etc/strongroom tree (an existing file is never overwritten),
# migrations and docs. make uninstall removes it, keeping the operator's
# configuration. make install-check tests both (systemd/verify.sh runs it too).
PREFIX      ?= /usr/local
SYSCONFDIR  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(PREFIX)/libexec/strongroom
DATADIR     ?= $(PREFIX)/share/strongroom
DOCDIR      ?= $(PREFIX)/share/doc/strongroom
MANDIR      ?= $(PREFIX)/share/man
# PREFIX=/usr: where the distribution's systemd looks (/lib/systemd/system on Debian 12).
UNITDIR     ?= $(if $(filter /usr,$(PREFIX)),$(or $(shell $(PKG) --variable=systemdsystemunitdir systemd 2>/dev/null),$(PREFIX)/lib/systemd/system),$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
INSTALL     ?= install
INSTALL_ENV  = DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' SYSCONFDIR='$(SYSCONFDIR)' BINDIR='$(BINDIR)' \
               LIBEXECDIR='$(LIBEXECDIR)' DATADIR='$(DATADIR)' DOCDIR='$(DOCDIR)' UNITDIR='$(UNITDIR)' \
               SYSUSERSDIR='$(SYSUSERSDIR)' TMPFILESDIR='$(TMPFILESDIR)' MANDIR='$(MANDIR)' \
               MANBUILD='build/man' INSTALL='$(INSTALL)'
# Man pages: docs/man/*.scd, made with scdoc (make deps) into build/man/.
MAN_PAGES := $(patsubst docs/man/%.scd,build/man/%,$(wildcard docs/man/*.scd))
man: $(MAN_PAGES)
build/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@.tmp && mv $@.tmp $@
install: $(BIN)/vaultd $(BIN)/gatewayd $(BIN)/vaultctl $(BIN)/gatewayctl $(BIN)/panscan $(MAN_PAGES)
	@$(INSTALL_ENV) systemd/install.sh install $(BIN)
uninstall:
	@$(INSTALL_ENV) systemd/install.sh uninstall $(BIN)
# Debian packages (ADR 0123): packaging/debian/, built from a staged copy of
# the tree with debhelper, into build/deb/, then lintian (scripts/deb.sh).
deb:
	@SR_VERSION=$(SR_VERSION) scripts/deb.sh
install-check: all
	@SR_BIN=$(BIN) SAN=$(SAN) systemd/install_check.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
