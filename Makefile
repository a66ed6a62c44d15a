# The single entry point: build stages, run their tests.
#   make stage N=4   (or make stage4, or make stage 4)   builds ./stage4
#   make test N=4    runs that stage's tests; make test runs them all
# `make help` lists every target.

# CFLAGS=-g on the command line replaces -O2 but keeps the warnings: every
# stage must build clean with them, whatever else is asked for.
CC       ?= cc
CFLAGS   ?= -O2
override CPPFLAGS += -D_GNU_SOURCE
override CFLAGS   += -std=c11 -Wall -Wextra -Werror
BATS     ?= bats
# The root filesystem of stages 06 on: built by `make rootfs` (tools/mkrootfs,
# offline), or any other, e.g. an extracted ubuntu-base: make test ROOTFS=DIR.
ROOTFS   ?= rootfs

# 01-clone ... : one directory per stage; its number, without the leading
# zero, names the binary: 04-pid -> ./stage4.
STAGE_DIRS := $(sort $(wildcard [0-9][0-9]-*))
number_of   = $(patsubst 0%,%,$(firstword $(subst -, ,$1)))
dir_of      = $(filter $1-% 0$1-%,$(STAGE_DIRS))
STAGES     := $(foreach d,$(STAGE_DIRS),$(call number_of,$d))

# `make stage 4` and `make test 4`: a bare stage number among the goals is N.
N ?= $(firstword $(filter $(STAGES),$(MAKECMDGOALS)))
ifneq ($(strip $(N)),)
  $(if $(filter $(N),$(STAGES)),,$(error N=$(N) is not a stage; the stages here are $(STAGES)))
endif

.PHONY: all stage diff doctor test vmtest mutate sanitize lint soak check bench docs clean help rootfs exercise grade $(STAGES)

all: $(addprefix stage,$(STAGES))

stage: $(addprefix stage,$(N))
	$(if $(N),,$(error say which stage: make stage N=4))@:

# The number itself, as a goal, builds its stage: `make 4`, `make stage 3 4`.
$(STAGES): %: stage%
	@:

# From stage 06 on a stage needs a rootfs: building one builds ./rootfs too,
# when it is missing, so that `make stage N=6 && sudo ./stage6` just works.
# (./rootfs, beside the binaries, is where a stage looks when not given -r.)
needs_rootfs = $(filter-out 1 2 3 4 5,$(call number_of,$1))

define stage_rule
stage$(call number_of,$1): $(wildcard $1/*.c $1/*.h) stage.h $(if $(call needs_rootfs,$1),| rootfs/bin/sh)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) -o $$@ $(wildcard $1/*.c) $$(LDFLAGS)
endef
$(foreach d,$(STAGE_DIRS),$(eval $(call stage_rule,$d)))

# What stage N adds to stage N-1, its lesson, as one diff: make diff N=4.
diff:
	$(if $(N),,$(error say which stage: make diff N=4))@tools/stagediff $(N)

# The workshop's other route: build the lesson yourself. `make exercise N=4`
# writes my/04-pid, stage 03 with a TODO where stage 04 differs (the words
# are docs/04-pid.md's); `sudo make grade N=4` builds it as the stages are
# built and runs stage 04's tests on it. With no N, grade what my/ holds;
# ONLY=REGEX runs only the tests whose names match.
MY ?= my
exercise:
	$(if $(N),,$(error say which stage: make exercise N=4))@tools/exercise $(N) $(MY)

grade: all | rootfs/bin/sh
	@MY="$(MY)" ONLY="$(ONLY)" ROOTFS="$(abspath $(ROOTFS))" BATS="$(BATS)" tools/grade $(N)

# tools/grade builds each with this rule, every time: my/stage4 from my/04-pid.
$(MY)/stage%: FORCE
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(wildcard $(MY)/$(call dir_of,$*)/*.c) $(LDFLAGS)
FORCE:

# Can this machine run the stages? What to fix if not (best as root).
doctor:
	@tools/doctor

# `make rootfs` (re)builds it; a missing one is built on demand. tools/mkrootfs
# replaces only a rootfs it made itself.
rootfs:
	tools/mkrootfs $(ROOTFS)

rootfs/bin/sh:
	tools/mkrootfs rootfs

# Every stage's tests, or with N one stage's file plus the contract that
# every stage keeps (tests/contract.bats, run for the stages in STAGES).
# tools/needs first: as root it installs what the tests lack (apt-get).
TEST_STAGES = $(if $(N),$(N),$(STAGES))
TEST_FILES  = $(if $(N),tests/$(call dir_of,$(N)).bats tests/contract.bats,tests)

test: $(if $(N),stage$(N),all)
	@ROOTFS="$(abspath $(ROOTFS))" tools/needs
	STAGES="$(TEST_STAGES)" ROOTFS="$(abspath $(ROOTFS))" $(BATS) $(BATS_FLAGS) $(TEST_FILES)

# The same tests inside a VM booted on Debian's stock kernel with cgroup v2
# only (tools/vmtest: qemu, the host's / read-only under a tmpfs). As root.
# The stages and the rootfs are built here first; the guest builds nothing.
vmtest: $(if $(N),stage$(N),all) | rootfs/bin/sh
	tools/vmtest $(N)

# Every patch in tests/mutations/ removes one step a lesson depends on; the
# tests must catch each (tools/mutate works in a scratch copy). As root.
mutate: all
	tools/mutate

# The whole suite again, against AddressSanitizer + UndefinedBehaviorSanitizer
# builds of every stage (tools/sanitize: a scratch copy). As root.
sanitize: all
	ROOTFS="$(abspath $(ROOTFS))" tools/sanitize

# cppcheck, clang-tidy, clang-format and shellcheck, configured in the
# repository's dot-files; none may find anything (tools/lint).
lint:
	tools/lint

# Every stage started 200 times in a row, stages 8 on also 20 at once, and
# stage 12's exec 200 times and 20 at once into one container: no
# failure, and nothing left on the host (tools/soak). As root.
soak: all
	tools/soak

check: test mutate sanitize lint soak

# Start-up time side by side with unshare(1), and stage 8 against the
# article's ip commands; writes bench/results.md. As root; never a test.
bench: all
	tools/bench $(RUNS)

# Rerun every command in the docs' console blocks and keep what they print
# now (as root), then copy them into the Chinese pages (docs/zhsync).
# tests/docs.bats fails when a doc no longer matches.
docs: all
	@for doc in docs/[0-9]*.md; do \
		docs/transcribe "$$doc" >"$$doc.new" && mv "$$doc.new" "$$doc" || { rm -f "$$doc.new"; exit 1; }; \
	done
	@for doc in docs/zh/[0-9]*.md; do \
		docs/zhsync copy "$$doc" >"$$doc.new" && mv "$$doc.new" "$$doc" || { rm -f "$$doc.new"; exit 1; }; \
	done

clean:
	rm -f $(wildcard stage[0-9] stage[0-9][0-9] $(MY)/stage[0-9] $(MY)/stage[0-9][0-9])
	$(if $(wildcard rootfs/etc/stage-rootfs),rm -rf rootfs)

help:
	@echo "Start at README.md, then docs/README.md (in Chinese: docs/zh/README.md, 中文版)"
	@echo "make                  build every stage (./stage1 ... ./stage$(lastword $(STAGES)))"
	@echo "make stage N=4        build ./stage4 (also: make stage4, make stage 4)"
	@echo "make doctor           can this machine run every stage? (sudo make doctor)"
	@echo "make diff N=4         what stage 4 adds to stage 3, as a diff"
	@echo "make test             run every stage's tests (as root: sudo make test)"
	@echo "make test N=4         run one stage's tests"
	@echo "make vmtest [N=4]     the same inside a VM on Debian's kernel, cgroup v2 only (as root)"
	@echo "make exercise N=4     build it yourself: my/04-pid, stage 3 with TODOs for stage 4"
	@echo "make grade [N=4]      stage 4's tests on my/04-pid: what holds, what not yet (as root)"
	@echo "                      ONLY=REGEX: only the tests whose names match"
	@echo "make rootfs           build ./rootfs for stages 06 on, offline (ROOTFS=DIR: elsewhere)"
	@echo "make mutate           break each lesson (tests/mutations/) and see the tests catch it"
	@echo "make sanitize         the tests against ASan + UBSan builds of every stage"
	@echo "make lint             cppcheck, clang-tidy, clang-format, shellcheck: no findings"
	@echo "make soak             every stage 200 times, 8 on also 20 at once: nothing left"
	@echo "make check            make test, mutate, sanitize, lint and soak"
	@echo "make bench            time every stage against unshare(1) (RUNS=200), as root"
	@echo "make docs             rerun the transcripts in docs/ and docs/zh/ (as root)"
	@echo "make clean            remove what the build made"
	@echo "make CC=clang         build with clang instead of cc"
	@echo "Variables: N=stage number, ROOTFS, CC, CFLAGS, BATS, BATS_FLAGS (e.g. --tap)"
