# SPDX-License-Identifier: GPL-2.0
# heliostat: one make for everything. `make`, `make check`, `make demo` (live
# migration), `make demo-move` (network-only),
# `make bench`, `make lint`, `make install` (DESTDIR, PREFIX). V=1 shows commands.

SUBDIRS := lib bpf loader ctl migrated imaged sched selftests bench
PREFIX ?= /usr/local
export PREFIX DESTDIR V

all: $(addprefix sub-,$(SUBDIRS))

sub-%:
	@$(MAKE) --no-print-directory -C $*

# Build order: the library and BPF skeletons before their users.
sub-bpf: sub-lib
sub-loader sub-selftests sub-bench: sub-lib sub-bpf
sub-ctl: sub-lib
sub-migrated: sub-lib sub-bpf

deps:
	@scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@scripts/bpffs.sh
	@selftests/run

bench: deps all
	@scripts/bpffs.sh
	@bench/run

demo: deps all
	@scripts/bpffs.sh
	@scripts/demo.sh

demo-move: deps all
	@scripts/bpffs.sh
	@scripts/demo_move.sh

LINT_SRCS = $(shell git ls-files '*.c' '*.h')
lint:
	@echo "  FORMAT   $(words $(LINT_SRCS)) files"
	@clang-format --dry-run --Werror $(LINT_SRCS)
	@echo "  CPPCHECK"
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem -I. \
		--suppress="invalidPrintfArgType_sint:selftests/*" --suppress=unknownMacro \
		$(filter-out %.bpf.c,$(filter %.c,$(LINT_SRCS)))

install: all
	@for d in $(filter-out selftests bench,$(SUBDIRS)); do $(MAKE) --no-print-directory -C $$d install || exit 1; done
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 docs/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/ 2>/dev/null || true

clean:
	rm -rf build

.PHONY: all deps check bench demo demo-move lint install clean
