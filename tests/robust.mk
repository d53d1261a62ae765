# tests/robust.mk — robustness targets, included by the Makefile:
#   make fuzz [FUZZ_SECONDS=N] [FUZZ_TARGETS="addr dns"]  libFuzzer+ASan+UBSan
#   make fuzz-replay     corpus replay binaries (built by `make check`,
#                        run by tests/fuzz/corpus.t) with the normal $(CC)
#   make torture [CRASH_ROUNDS=N]  kill -9 torture, the long form
#   make soak [SOAK_MESSAGES=N]    bounded soak, qmgr RSS sampled
#   make load                      500 SMTP sessions, 200 IMAP IDLE
# A fuzz target is tests/fuzz/NAME.c defining LLVMFuzzerTestOneInput;
# seeds live in tests/fuzz/corpus/NAME/; finds go to build/fuzz/.

FUZZ_ALL     = $(filter-out replay,$(basename $(notdir $(wildcard tests/fuzz/*.c))))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang-14
FUZZ_OUT     = build/fuzz
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) $(FUZZ_SAN) -Isrc/lib -Itests/fuzz
FUZZ_LIB_OBJ = $(LIB_SRC:src/lib/%.c=$(FUZZ_OUT)/lib/%.o)

# program sources a target needs besides libyubin (and their headers)
FUZZ_SRC_mime   = src/imap/bodystruct.c
FUZZ_INC_mime   = -Isrc/imap
FUZZ_SRC_imap   = src/imap/seqset.c src/imap/search.c src/imap/searchext.c
FUZZ_INC_imap   = -Isrc/imap
FUZZ_INC_data   = -Isrc/smtpd
FUZZ_DEP_data   = src/smtpd/data.c src/smtpd/smtpd.h

.PHONY: fuzz fuzz-build fuzz-replay torture soak load

$(FUZZ_OUT)/lib/%.o: src/lib/%.c $(wildcard src/lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_OUT)/libyubin-fuzz.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_OUT)/libyubin-fuzz.a $$(FUZZ_SRC_$$*) $$(FUZZ_DEP_$$*)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INC_$*) -fsanitize=fuzzer -o $@ $< $(FUZZ_SRC_$*) \
		$(FUZZ_OUT)/libyubin-fuzz.a $(STATIC_LIBS)

fuzz-build:
	@tools/need-packages clang-14 libclang-rt-14-dev
	$(MAKE) $(FUZZ_TARGETS:%=$(FUZZ_OUT)/%)

# New inputs go to build/fuzz/work/NAME (the checked-in seeds stay small);
# a crash leaves build/fuzz/crash-NAME-*: add it to the corpus and fix.
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_OUT)/work/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
		$(FUZZ_OUT)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=2048 \
			-close_fd_mask=3 -print_final_stats=1 -artifact_prefix=$(FUZZ_OUT)/crash-$$t- \
			$(FUZZ_OUT)/work/$$t tests/fuzz/corpus/$$t 2>&1 | \
			grep -E '^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==|SUMMARY|fuzz assertion|artifact_prefix|Test unit written)' \
			|| true; \
		if ls $(FUZZ_OUT)/crash-$$t-* >/dev/null 2>&1; then echo "fuzz: $$t FOUND A CRASH"; fail=1; fi; \
	done; exit $${fail:-0}

# The replay build: same compiler and flags as everything else in OBJDIR.
$(OBJDIR)/fuzz/%-replay: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(LIB) $$(FUZZ_SRC_$$*) $$(FUZZ_DEP_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz $(FUZZ_INC_$*) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_SRC_$*) \
		$(LIB) $(STATIC_LIBS)

fuzz-replay: $(FUZZ_ALL:%=$(OBJDIR)/fuzz/%-replay)

check: fuzz-replay

CRASH_ROUNDS ?= 5
torture: all
	CRASH_ROUNDS=$(CRASH_ROUNDS) prove -v tests/crash/*.t

SOAK_MESSAGES ?= 20000
soak: all
	SOAK_MESSAGES=$(SOAK_MESSAGES) tests/load/soak.py

load: all
	tests/load/smtp-concurrent.py
	tests/load/imap-idle.py
