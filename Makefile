# Makefile - build, test and run the MTA.  See README for the two commands.

PROGRAMS = master smtpd cleanup qmgr local mtactl anvil resolver remote \
           pickup sendmail tlsproxy mtadrop
PKGS     = libsodium liblmdb
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla
DEFS     = -D_GNU_SOURCE
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsodium -llmdb)
ALL_CFLAGS = $(WARN) $(DEFS) $(CFLAGS) $(PKG_CFLAGS) -Icommon -MMD -MP
LDLIBS   = $(PKG_LIBS)

# Debian packages: what building needs, and what the tests need beside it.
BUILD_DEBS = build-essential pkg-config libsodium-dev libldns-dev liblmdb-dev \
             libssl-dev \
             libcunit1-dev
TEST_DEBS  = python3 swaks mandoc lmdb-utils procps iproute2 pflogsumm clang \
             libclang-rt-14-dev dovecot-pop3d openssl strace

# B and BIN let a second build (the sanitizer one) live beside the first
B   ?= build
BIN ?= bin

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(B)/%.o)
LIBMTA     = $(B)/libmta.a

.PHONY: all deps run test clean lint sanitize fuzz bench bench-smtpd install
all: $(PROGRAMS:%=$(BIN)/%)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBMTA): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

define program_rule
$(BIN)/$(1): $(patsubst %.c,$(B)/%.o,$(wildcard $(1)/*.c)) $(LIBMTA)
	@mkdir -p $(BIN)
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))
# OpenSSL: tlsproxy alone (smtpd's TLS runs there, see smtpd(8))
SSL_LIBS := $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)
$(BIN)/tlsproxy: LDLIBS += $(SSL_LIBS)
# ldns has no pkg-config file on Debian; only resolver talks DNS
$(BIN)/resolver: LDLIBS += -lldns

# test driver for tlsproxy (tests/integration/test_tlsproxy.py), not installed
$(BIN)/tlsproxy_echo: $(B)/tests/tlsproxy_echo.o $(LIBMTA)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests: one CUnit binary holding a suite per module.
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_OBJ = $(UNIT_SRC:%.c=$(B)/%.o)
# smtpd's message body filter, linked like the parsers below
UNIT_OBJ += $(B)/smtpd/smtpd_body.o
# the parsers of the programs, tested without their main()
UNIT_PROG_OBJ = $(addprefix $(B)/,cleanup/cleanup_headers.o \
	local/mailbox_path.o local/maildir.o smtpd/smtpd_cmd.o \
	local/resolve.o local/forward.o \
	local/targets.o local/dotforward.o local/identity.o \
	local/maildir_tag.o \
	local/maildir_quota.o \
	smtpd/smtpd_io.o smtpd/smtpd_data.o smtpd/smtpd_tls.o smtpd/smtpd_auth.o \
	smtpd/smtpd_vrfy.o \
	smtpd/smtpd_submit.o \
	smtpd/smtpd_access.o \
	qmgr/qmgr_dest.o)
UNIT_PROG_OBJ += $(addprefix $(B)/,remote/smtp_reply.o remote/smtp_ehlo.o \
	remote/remote_route.o remote/remote_map.o remote/remote_result.o \
	remote/smtp_auth.o \
	resolver/dns_cache.o resolver/dns_lookup.o)
UNIT_PROG_OBJ += $(B)/remote/mime_downgrade.o
UNIT_PROG_OBJ += $(addprefix $(B)/,remote/remote_tls.o remote/smtp_io.o \
	tlsproxy/tls_client.o \
	tlsproxy/tls_ctx.o)
$(BIN)/unit_tests: $(UNIT_OBJ) $(UNIT_PROG_OBJ) $(LIBMTA)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcunit -lldns -lssl -lcrypto

# benchmark helpers (make bench)
$(BIN)/mkqueue: $(B)/tests/bench/mkqueue.o $(LIBMTA)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/smtpload: $(B)/tests/bench/smtpload.o
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -o $@ $^

# speed and memory, measured (never asserted in make test)
bench: all $(BIN)/mkqueue $(BIN)/smtpload
	@sh tests/bench/run.sh

deps:
	@sh tests/deps.sh $(BUILD_DEBS) $(TEST_DEBS)

run: deps all
	@sh tests/make_run.sh "$(CURDIR)"

test: all $(BIN)/unit_tests $(BIN)/tlsproxy_echo $(BIN)/mkqueue
	@MTA_BIN="$(CURDIR)/$(BIN)" python3 tests/run_tests.py "$(CURDIR)"

# the whole suite again with AddressSanitizer and UBSan (clang or gcc)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# daemons lose stderr when detached: reports go to files the runner counts
sanitize:
	rm -rf build-san/reports && mkdir -p build-san/reports
	ASAN_OPTIONS=log_path=$(CURDIR)/build-san/reports/asan \
	UBSAN_OPTIONS=log_path=$(CURDIR)/build-san/reports/ubsan:print_stacktrace=1 \
	MTA_SAN_REPORTS=$(CURDIR)/build-san/reports \
	$(MAKE) B=build-san BIN=bin-san CFLAGS="-O1 -g $(SAN)" test

lint:
	@for f in man/*.[1-8]; do mandoc -Tlint -Wwarning "$$f" || exit 1; done

# fuzz the parsers of untrusted input: make fuzz [FUZZ_SECONDS=60]
FUZZ_SECONDS ?= 60
fuzz:
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# smtpd's section of the benchmarks: make bench-smtpd [BENCH_SESSIONS=1000]
BENCH_SESSIONS ?= 1000
bench-smtpd: all
	MTA_BIN="$(CURDIR)/$(BIN)" python3 tests/bench/bench_smtpd.py $(BENCH_SESSIONS)

# install: make install [PREFIX=/usr/local] [DESTDIR=/staging]
# As root without DESTDIR it also runs mtactl setup (users, queue tree).
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc/mta
UNITDIR    ?= /lib/systemd/system
DAEMONS     = $(filter-out mtactl sendmail,$(PROGRAMS))
LIBEXECDIR  = $(PREFIX)/libexec/mta
SBINDIR     = $(PREFIX)/sbin
MANDIR      = $(PREFIX)/share/man
SUBST = sed -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g'
# mtadrop goes to libexec with the daemons; mtactl setup (below, as root)
# makes it set-group-ID setgid_group, as mtadrop(8) explains.
install: all
	install -d -m 0755 $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(DAEMONS:%=$(BIN)/%) $(DESTDIR)$(LIBEXECDIR)/
	install -m 0755 $(BIN)/mtactl $(BIN)/sendmail $(DESTDIR)$(SBINDIR)/
	ln -sf sendmail $(DESTDIR)$(SBINDIR)/mailq
	ln -sf sendmail $(DESTDIR)$(SBINDIR)/newaliases
	for s in 1 5 7 8; do ls man/*.$$s >/dev/null 2>&1 || continue; \
		install -d -m 0755 $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 0644 man/*.$$s $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	$(SUBST) dist/mta.service.in > $(DESTDIR)$(UNITDIR)/mta.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mta.service
	@# never overwrite the operator's config
	if [ -e $(DESTDIR)$(SYSCONFDIR)/mta.conf ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/mta.conf"; else \
		$(SUBST) dist/mta.conf.in > $(DESTDIR)$(SYSCONFDIR)/mta.conf && \
		chmod 0644 $(DESTDIR)$(SYSCONFDIR)/mta.conf; fi
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		$(SBINDIR)/mtactl -c $(SYSCONFDIR)/mta.conf setup; fi

clean:
	rm -rf build bin build-san bin-san build-fuzz

-include $(COMMON_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(B)/tests/tlsproxy_echo.d \
	$(foreach p,$(PROGRAMS),$(patsubst %.c,$(B)/%.d,$(wildcard $(p)/*.c)))
