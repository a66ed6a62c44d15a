#!/usr/bin/env bats
# The transcripts in docs/ are real: rerunning their commands (docs/transcribe)
# must print the same lines again. Pids, inode numbers and ids change from run
# to run, and in stages 01 and 02 parent and child print in either order, so
# numbers are compared as N and lines as a sorted list.

load helpers

setup() {
	require_root
	for n in 1 2 3 4; do require_stage "$n"; done
}

normalized() { sed -E 's/[0-9]+/N/g' | sort; }

@test "docs: every transcript still matches what its commands print" {
	for doc in "$ROOT"/docs/[0-9]*.md; do
		now=$("$ROOT/docs/transcribe" "$doc")
		diff <(normalized <"$doc") <(normalized <<<"$now") ||
			fail "${doc##*/} is out of date: run sudo make docs"
	done
}
