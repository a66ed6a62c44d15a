#!/usr/bin/env bats
# The budgets of ../shared/CONTRACT.md ("The spine and the lesson"), which
# keep each stage a lesson a newcomer reads in one sitting: a small shared
# header, short opening comments, small neighbour diffs, short doc pages.

load helpers

@test "budgets: stage.h is at most 200 lines" {
	n=$(wc -l <"$ROOT/stage.h")
	[ "$n" -le 200 ] || fail "stage.h is $n lines"
}

@test "budgets: each stage's opening comment is at most 20 lines" {
	for src in "$ROOT"/[0-9][0-9]-*/main.c; do
		n=$(awk 'NR == 1 && !/^\/\*/ { exit } { print } /\*\// { exit }' "$src" | wc -l)
		[ "$n" -ge 3 ] || fail "${src#"$ROOT"/} opens with no comment"
		[ "$n" -le 20 ] || fail "${src#"$ROOT"/} opens with a $n-line comment"
	done
}

# tools/stagediff's first count line is main.c's; then one line per helper
# file the stage adds ("new, N lines") or changes. The stages beyond the card
# teach bigger lessons: the cap per diff is what holds, not a median.
@test "budgets: each neighbour diff of main.c is at most 200 lines, and a helper file new in a stage at most 300" {
	for dir in "$ROOT"/[0-9][0-9]-*/; do
		n=$((10#$(basename "$dir" | cut -d- -f1)))
		[ "$n" -ge 2 ] || continue
		counts=$("$ROOT/tools/stagediff" "$n" | grep '^# ')
		line=$(head -n 1 <<<"$counts")
		[[ $line == *"/main.c -> "*"/main.c: "*" lines changed" ]] || fail "stage $n: $line"
		count=$(sed -E 's/.*: ([0-9]+) lines changed$/\1/' <<<"$line")
		[ "$count" -le 200 ] || fail "$line"
		while read -r new; do
			[ "$(sed -E 's/.*: new, ([0-9]+) lines$/\1/' <<<"$new")" -le 300 ] || fail "$new"
		done < <(grep ': new, [0-9]* lines$' <<<"$counts")
	done
}

@test "budgets: every doc page is at most 450 lines, and none pastes a whole diff" {
	for page in "$ROOT"/docs/*.md "$ROOT"/docs/zh/*.md; do
		n=$(wc -l <"$page")
		[ "$n" -le 450 ] || fail "${page#"$ROOT"/} is $n lines"
		! grep -q '^@@ -[0-9]' "$page" || [ "$(grep -c '^@@ -[0-9]' "$page")" -le 2 ] ||
			fail "${page#"$ROOT"/} pastes a diff of many hunks"
	done
}
