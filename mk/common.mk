# SPDX-License-Identifier: GPL-2.0
# Shared make fragment. A component Makefile sets COMPONENT and some of
# LIB, PROGS (+ <prog>_SRCS, <prog>_PKGS), BPF_SRCS, TESTS (+ <test>_SRCS,
# <test>_PKGS), MAN8/MAN5, then includes this file. Outputs go in $(BUILD).

TOP	?= ..
BUILD	:= $(abspath $(TOP)/build)
OBJDIR	:= $(BUILD)/$(COMPONENT)
PREFIX	?= /usr/local
DESTDIR	?=

CC	?= cc
CLANG	?= clang
BPFTOOL	?= bpftool
PKGCONF	?= pkg-config

ifeq ($(V),1)
Q	:=
msg	=
else
Q	:= @
msg	= @printf '  %-8s %s\n' "$(1)" "$(patsubst $(BUILD)/%,%,$(2))";
endif

CFLAGS	?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wno-unused-parameter -Wno-missing-field-initializers -D_GNU_SOURCE -I$(abspath $(TOP)) -I$(BUILD) -MMD -MP
BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_x86 \
	-I$(BUILD) -I$(abspath $(TOP)) -MMD -MP

LIBHS	:= $(BUILD)/lib/libhs.a
VMLINUX	:= $(BUILD)/vmlinux.h

all:

# vmlinux.h from the running kernel's BTF (CO-RE: objects still run on
# other kernels, relocated at load time).
$(VMLINUX):
	$(Q)mkdir -p $(dir $@)
	$(call msg,GEN,$@)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

# BPF objects and their skeletons.
BPF_OBJS := $(patsubst %.bpf.c,$(OBJDIR)/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst %.bpf.c,$(OBJDIR)/%.skel.h,$(BPF_SRCS))
$(OBJDIR)/%.bpf.o: %.bpf.c $(VMLINUX)
	$(Q)mkdir -p $(dir $@)
	$(call msg,BPF,$@)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
# keep the objects: make install ships them, tests attach some
.SECONDARY: $(BPF_OBJS)
$(OBJDIR)/%.skel.h: $(OBJDIR)/%.bpf.o
	$(call msg,SKEL,$@)$(BPFTOOL) gen skeleton $< name $(subst -,_,$(notdir $(<:.bpf.o=))) > $@.tmp && mv $@.tmp $@

# User-space objects.
$(OBJDIR)/%.o: %.c
	$(Q)mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -c $< -o $@

ifneq ($(LIB),)
LIB_OBJS := $(patsubst %.c,$(OBJDIR)/%.o,$(LIB_SRCS))
$(OBJDIR)/$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)$(AR) rcs $@ $^
all: $(OBJDIR)/$(LIB)
endif

# Programs, tests and benchmarks (PROGS are installed): srcs, pkg-config
# packages; all link libhs.
define link_tmpl
$(1)_OBJS := $$(patsubst %.c,$$(OBJDIR)/%.o,$$($(1)_SRCS))
$$(OBJDIR)/$(1): $$($(1)_OBJS) $$(LIBHS)
	$$(call msg,LD,$$@)$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $$(LIBHS) \
		$$(if $$($(1)_PKGS),$$(shell $$(PKGCONF) --libs $$($(1)_PKGS))) $$($(1)_LDLIBS)
endef
$(foreach p,$(PROGS) $(TESTS) $(BENCHES),$(eval $(call link_tmpl,$(p))))
ALL_PKGS := $(sort $(LIB_PKGS) $(foreach p,$(PROGS) $(TESTS) $(BENCHES),$($(p)_PKGS)))
PKG_CFLAGS := $(if $(ALL_PKGS),$(shell $(PKGCONF) --cflags $(ALL_PKGS)))

# User objects may include skeletons: build those first.
$(foreach p,$(PROGS) $(TESTS) $(BENCHES),$($(p)_OBJS)) $(LIB_OBJS): | $(BPF_SKELS)

all: $(BPF_SKELS) $(addprefix $(OBJDIR)/,$(PROGS) $(TESTS) $(BENCHES))

install: all
ifneq ($(PROGS),)
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(addprefix $(OBJDIR)/,$(PROGS)) $(DESTDIR)$(PREFIX)/sbin/
endif
ifneq ($(BPF_SRCS),)
	install -d $(DESTDIR)$(PREFIX)/lib/heliostat
	install -m 0644 $(BPF_OBJS) $(DESTDIR)$(PREFIX)/lib/heliostat/
endif

clean:
	rm -rf $(OBJDIR)

.PHONY: all install clean
.DELETE_ON_ERROR:

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)
