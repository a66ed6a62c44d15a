#!/usr/bin/env bats
# The transcripts in docs/ are real: rerunning their commands (docs/transcribe)
# must print the same lines again. Pids, inode numbers and ids change from run
# to run, and in stages 01 and 02 parent and child print in either order, so
# numbers are compared as N and lines as a sorted list.

load helpers

setup() {
	require_root
	for n in $(stages_under_test); do require_stage "$n"; done
}

normalized() { sed -E 's/[0-9]+/N/g' | sort; }

@test "docs: every transcript still matches what its commands print" {
	for doc in "$ROOT"/docs/[0-9]*.md; do
		now=$("$ROOT/docs/transcribe" "$doc")
		diff <(normalized <"$doc") <(normalized <<<"$now") ||
			fail "${doc##*/} is out of date: run sudo make docs"
	done
}

# The "Break it" sections show the mutants make mutate runs: each page lists
# every patch of its stage, and the diff it shows is the patch itself.
@test "docs: every stage page breaks its lesson with the patches in tests/mutations" {
	for patch in "$ROOT"/tests/mutations/*.patch; do
		name=${patch##*/}
		page=$(ls "$ROOT"/docs/"${name%%-*}"-*.md)
		grep -qF "\`$name\`" "$page" || fail "${page##*/} does not list $name"
	done
	for page in "$ROOT"/docs/[0-9]*.md; do
		shown=$(sed -n '/^## Break it/,$p' "$page" | sed -n '/^```diff$/,/^```$/p' | sed '1d;$d')
		applied=$(sed -n '/^## Break it/,$p' "$page" | grep -o 'git apply tests/mutations/[^ ]*' | head -n 1 | cut -d' ' -f3)
		[ -n "$applied" ] || fail "${page##*/} has no Break it exercise"
		[ "$shown" = "$(tail -n +2 "$ROOT/$applied")" ] || fail "${page##*/} shows a diff that is not $applied"
	done
}
