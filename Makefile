# Makefile - build, test and run the MTA.  See README for the two commands.

PROGRAMS = master smtpd cleanup qmgr local mtactl
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
             libcunit1-dev
TEST_DEBS  = python3 swaks mandoc lmdb-utils procps iproute2

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=build/%.o)
LIBMTA     = build/libmta.a

.PHONY: all deps run test unit integration clean lint bench
all: $(PROGRAMS:%=bin/%)

build/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBMTA): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

define program_rule
bin/$(1): $(patsubst %.c,build/%.o,$(wildcard $(1)/*.c)) $(LIBMTA)
	@mkdir -p bin
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

# Unit tests: one CUnit binary holding a suite per module.
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_OBJ = $(UNIT_SRC:%.c=build/%.o)
# the parsers of the programs, tested without their main()
UNIT_PROG_OBJ = build/cleanup/cleanup_headers.o build/local/mailbox_path.o \
	build/local/maildir.o build/smtpd/smtpd_cmd.o build/smtpd/smtpd_io.o \
	build/smtpd/smtpd_data.o
bin/unit_tests: $(UNIT_OBJ) $(UNIT_PROG_OBJ) $(LIBMTA)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcunit

deps:
	@sh tests/deps.sh $(BUILD_DEBS) $(TEST_DEBS)

run: deps all
	@sh tests/make_run.sh "$(CURDIR)"

test: all bin/unit_tests
	@python3 tests/run_tests.py "$(CURDIR)"

lint:
	@for f in man/*.[1-8]; do mandoc -Tlint -Wwarning "$$f" || exit 1; done

clean:
	rm -rf build bin

-include $(COMMON_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) \
	$(foreach p,$(PROGRAMS),$(patsubst %.c,build/%.d,$(wildcard $(p)/*.c)))
