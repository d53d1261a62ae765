# yubin — build, test, run.  `make`, `make check`, `make run`.
# SANITIZE=1 builds with ASan+UBSan into the same bin/ (objects kept apart).

CC      ?= cc
PREFIX  ?= /var/yubin
SANITIZE ?= 0

WARN    = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
HARDEN  = -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fno-strict-aliasing
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) -Isrc/lib
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed
STATIC_LIBS = -Wl,-Bstatic -lcdb -lbearssl -lcrypt -Wl,-Bdynamic

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CFLAGS  := $(filter-out -D_FORTIFY_SOURCE=2,$(CFLAGS))
LDFLAGS += -fsanitize=address,undefined
OBJDIR  ?= build/san
else
OBJDIR  ?= build/opt
endif

# Programs: bin/NAME is built from src/DIR/*.c (DIR given per program) + libyubin.
ALL_PROGRAMS = yubin-queue yubin-qmgr yubin-local yubin-map yubin-user sendmail \
           yubin-ctl yubin-run yubin-smtpd
DIR_yubin-queue = queue
DIR_yubin-qmgr  = qmgr
DIR_yubin-local = local
DIR_yubin-map   = map
DIR_yubin-user  = user
DIR_sendmail    = sendmail
DIR_yubin-ctl   = ctl
DIR_yubin-run   = run
DIR_yubin-smtpd = smtpd
ALL_PROGRAMS += yubin-tlsd yubin-checkpassword
DIR_yubin-tlsd = tlsd
DIR_yubin-checkpassword = checkpassword
ALL_PROGRAMS += yubin-pop3d yubin-pop3
DIR_yubin-pop3d = pop3d
DIR_yubin-pop3 = pop3
ALL_PROGRAMS += yubin-remote
DIR_yubin-remote = remote
ALL_PROGRAMS += yubin-imapd yubin-imap
DIR_yubin-imapd = imapd
DIR_yubin-imap = imap
ALL_PROGRAMS += yubin-anvil
DIR_yubin-anvil = anvil
# a program is built once its folder has sources
PROGRAMS = $(foreach p,$(ALL_PROGRAMS),$(if $(wildcard src/$(DIR_$p)/*.c),$p))

LIB_SRC = $(wildcard src/lib/*.c)
LIB_OBJ = $(LIB_SRC:src/%.c=$(OBJDIR)/%.o)
LIB     = $(OBJDIR)/libyubin.a

UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(OBJDIR)/tests/%.t)

.PHONY: all check run deps deps-run clean install unit man bench
all: deps-build $(PROGRAMS:%=bin/%) bin/yubin-create-queue bin/yubin-setup bin/yubin-logsumm $(if $(filter sendmail,$(PROGRAMS)),bin/mailq bin/newaliases) \
     $(if $(filter yubin-smtpd,$(PROGRAMS)),bin/yubin-submission)

# every header, a program's own (src/remote/remote.h ...) included: a struct
# change must rebuild all its users
$(OBJDIR)/%.o: src/%.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc/$(firstword $(subst /, ,$*)) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

.SECONDEXPANSION:
objs_of = $(patsubst src/%.c,$(OBJDIR)/%.o,$(wildcard src/$(DIR_$(1))/*.c))
# objects are kept (never deleted as intermediates); the flavour marker
# below is not among them, so a missing one does relink
.SECONDARY: $(LIB_OBJ) $(foreach p,$(PROGRAMS),$(call objs_of,$p)) $(UNIT_BIN)
# bin/ holds one flavour at a time: switching SANITIZE relinks everything
FLAVOUR = bin/.flavour-$(if $(filter 1,$(SANITIZE)),san,opt)
$(FLAVOUR):
	@mkdir -p bin
	rm -f bin/.flavour-*
	touch $@

ASAN_OPTS_OBJ = $(if $(filter 1,$(SANITIZE)),$(OBJDIR)/asan-options.o)
$(OBJDIR)/asan-options.o: tools/asan-options.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

bin/%: $$(call objs_of,$$*) $(LIB) $(FLAVOUR) $(ASAN_OPTS_OBJ)
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter-out $(FLAVOUR),$^) $(STATIC_LIBS)

# sendmail answers as mailq and newaliases; submission is smtpd in its 587 role.
bin/yubin-create-queue: queue/create-queue
	@mkdir -p bin
	cp $< $@ && chmod 755 $@
bin/yubin-setup: tools/yubin-setup
	@mkdir -p bin
	cp $< $@ && chmod 755 $@
bin/yubin-logsumm: tools/yubin-logsumm
	@mkdir -p bin
	cp $< $@ && chmod 755 $@

# Man pages are man/manN/*.N; yubin-control(5) is generated from the
# settings table (src/lib/settings.c), never edited. Installed into
# MANDIR (PREFIX/man, which man(1) finds for PREFIX/bin on PATH;
# MANDIR=/usr/share/man for the system tree).
MANDIR ?= $(PREFIX)/man
man: man/man5/yubin-control.5
man/man5/yubin-control.5: bin/yubin-ctl
	bin/yubin-ctl config --man > $@.tmp && mv $@.tmp $@

bin/mailq bin/newaliases: bin/sendmail
	ln -sf sendmail $@
bin/yubin-submission: bin/yubin-smtpd
	ln -sf yubin-smtpd $@

$(OBJDIR)/tests/%.t: tests/unit/%.c $(LIB) tests/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB) $(STATIC_LIBS)

unit: $(UNIT_BIN)

# Debian packages: the build needs the three libraries, the tests real clients
# (swaks only Recommends Net::SSLeay, which its --tls needs).
BUILD_PKGS = libbearssl-dev libcdb-dev libcrypt-dev
TEST_PKGS  = ucspi-tcp openssl python3 curl swaks libnet-ssleay-perl msmtp fetchmail systemd man-db python3-dkim publicsuffix
deps-build:
	@tools/need-packages $(BUILD_PKGS)
deps-test:
	@tools/need-packages $(BUILD_PKGS) $(TEST_PKGS)

# Under SANITIZE=1 the unit tests run with LeakSanitizer; the programs do
# not (tools/asan-options.c says why).
check: deps-test all unit man
	OBJDIR=$(OBJDIR) prove -f -j2 $(UNIT_BIN) tests/integration/*.t \
		$(wildcard tests/fuzz/*.t tests/security/*.t tests/crash/*.t)

# every benchmark against yubin and the Postfix + Dovecot peers, one table
bench: deps-test all
	bench/all.sh

run: deps-test all
	bin/yubin-run --root ./run --base-port 10000

# make install PREFIX=/var/yubin DESTDIR=/tmp/stage: programs into
# PREFIX/bin, the default control files, units into /usr/lib/systemd/system,
# man pages into MANDIR, and the queue. Accounts and owners: yubin-setup (run as root afterwards).
install: all man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/control $(DESTDIR)$(PREFIX)/mail \
		$(DESTDIR)$(PREFIX)/log $(DESTDIR)/usr/lib/systemd/system
	cp -P bin/* $(DESTDIR)$(PREFIX)/bin/
	for f in control/*; do [ -f "$$f" ] && [ ! -e $(DESTDIR)$(PREFIX)/$$f ] && \
		install -m 644 "$$f" $(DESTDIR)$(PREFIX)/$$f || true; done
	-install -m 644 etc/systemd/* $(DESTDIR)/usr/lib/systemd/system/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	for f in man/man[158]/*.[158]; do install -m 644 "$$f" $(DESTDIR)$(MANDIR)/$${f#man/}; done
	bin/yubin-create-queue $(DESTDIR)$(PREFIX)

clean:
	rm -rf build bin

# fuzzing, torture, soak and load targets (check builds the corpus replays)
include tests/robust.mk
