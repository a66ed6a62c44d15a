#!/usr/bin/env bats
# The transcripts in docs/ are real: rerunning their commands (docs/transcribe)
# must print the same lines again. Pids, inode numbers, ids, addresses (and
# the bytes strace shows of them) change from run to run, strace pads its
# columns to fit them, and in stages 01 and 02 parent and child print in
# either order: so numbers are compared as N, runs of blanks as one, and
# lines as a sorted list.

load helpers

setup() {
	require_root
	for n in $(stages_under_test); do require_stage "$n"; done
}

teardown() { rm -rf "${stale:-}"; } # a file, or (docs/zh) a copy of docs/

normalized() { sed -E -e 's/\\x[0-9a-f]{2}/\\xN/g' -e 's/0x[0-9a-f]+/0xN/g' -e 's/[0-9]+/N/g' -e 's/ +/ /g' | sort; }

# Does DOC's every transcript read as its commands print now?
current() {
	local now
	now=$("$ROOT/docs/transcribe" "$1")
	diff <(normalized <"$1") <(normalized <<<"$now")
}

@test "docs: every transcript still matches what its commands print" {
	for doc in "$ROOT"/docs/[0-9]*.md; do
		current "$doc" || fail "${doc##*/} is out of date: run sudo make docs"
	done
}

@test "docs: a transcript whose output was edited is caught as out of date" {
	stale=$(mktemp --suffix=.md)
	# the first output line of the first transcript gets a word more
	awk '!done && prev ~ /^\$ / && $0 !~ /^\$ / && $0 != "```" { $0 = $0 " stale"; done = 1 }
	     { print; prev = $0 }' "$ROOT/docs/02-uts.md" >"$stale"
	! cmp -s "$stale" "$ROOT/docs/02-uts.md" || fail "the edit did not take"
	current "$ROOT/docs/02-uts.md" || fail "02-uts.md itself is out of date"
	! current "$stale" || fail "the edited transcript was taken as current"
}

# The "Break it" sections show the mutants make mutate runs: each page lists
# every patch of its stage, and the diff it shows is the patch itself.
@test "docs: every stage page breaks its lesson with the patches in tests/mutations" {
	tests=$(grep -h '^@test "' "$ROOT"/tests/*.bats | sed -E 's/^@test "(.*)" \{$/\1/; s/\\//g')
	for patch in "$ROOT"/tests/mutations/*.patch; do
		name=${patch##*/}
		page=$(ls "$ROOT"/docs/"${name%%-*}"-*.md)
		grep -qF "\`$name\`" "$page" || fail "${page##*/} does not list $name"
	done
	for page in "$ROOT"/docs/[0-9]*.md; do
		shown=$(sed -n '/^## Break it/,$p' "$page" | sed -n '/^```diff$/,/^```$/p' | sed '1d;$d')
		applied=$(sed -n '/^## Break it/,$p' "$page" | grep -o 'git apply tests/mutations/[^ ]*' | head -n 1 | cut -d' ' -f3)
		[ -n "$applied" ] || fail "${page##*/} has no Break it exercise"
		[ "$shown" = "$(tail -n +3 "$ROOT/$applied")" ] || fail "${page##*/} shows a diff that is not $applied"
		# each row's last column is its patch's "Caught by:", a test that exists
		while IFS='|' read -r _ patch _ test _; do
			patch=$(sed 's/^ *`//; s/` *$//' <<<"$patch")
			test=$(sed 's/^ *//; s/ *$//' <<<"$test")
			grep -qxF -- "$test" <<<"$tests" || fail "${page##*/} names no such test: $test"
			[ "$(sed -n '2s/^Caught by: //p' "$ROOT/tests/mutations/$patch")" = "$test" ] ||
				fail "${page##*/}: $patch is not caught by '$test', its patch says"
		done < <(sed -n '/^## Break it/,$p' "$page" | grep '^| `')
	done
}

# errata.md points at the lines that do each job right, as
# [`FILE:LINE`](../FILE#LLINE) `what`. The line must be code, not a comment
# or a blank, and hold what it names: the text up to its first "…" or "<",
# a function() as its name and "(" - not as the tail of a longer name
# (clone( is not hint_for_clone(). Prints one line per link that does not.
errata_problems() {
	local count=0 link path line what needle text
	while IFS= read -r link; do
		path=$(sed -E 's/.*\]\(\.\.\/([^#]*)#L.*/\1/' <<<"$link")
		line=$(sed -E 's/.*#L([0-9]+)\).*/\1/' <<<"$link")
		what=$(sed -E 's/.*\) `([^`]*)`$/\1/' <<<"$link")
		what=${what//\\|/|} # a | in a table's code span is written \|
		count=$((count + 1))
		if [ ! -f "$ROOT/$path" ]; then
			echo "errata.md links to $path, which is not there"
			continue
		fi
		[[ $link == "[\`${path##*/}:$line\`]"* || $link == "[\`$path:$line\`]"* ]] ||
			echo "errata.md: the text of $link is not its target"
		needle=${what%%…*}
		needle=${needle%%<*}
		[[ $needle == *'()' ]] && needle=${needle%)}
		text=$(sed -n "${line}p" "$ROOT/$path")
		if [[ ! $text =~ [^[:space:]] || $text =~ ^[[:space:]]*(/\*|\*|//) ]]; then
			echo "errata.md: $path:$line, for '$what', is a comment or a blank line"
		elif ! awk -v n="$needle" '{
			# an occurrence outside a string literal: die("child: unshare(…)")
			# does not hold unshare(
			for (at = 0; (i = index(substr($0, at + 1), n)) > 0; at += i) {
				before = substr($0, 1, at + i - 1)
				if ((n !~ /^[A-Za-z0-9_]/ || before !~ /[A-Za-z0-9_]$/) && gsub(/"/, "", before) % 2 == 0)
					exit 0
			}
			exit 1 }' <<<"$text"; then
			echo "errata.md: $path:$line does not hold '$needle' (outside a string)"
		fi
	done < <(grep -o '\[`[^`]*`\](\.\./[^)]*) `[^`]*`' "$1")
	[ "$count" -ge 20 ] || echo "errata.md: only $count links found"
	[ "$count" -eq "$(grep -o '#L[0-9]*)' "$1" | wc -l)" ] ||
		echo "errata.md: a link to a line is not in the form [\`FILE:LINE\`](../FILE#LLINE) \`what\`"
}

@test "docs: every line errata.md points at is code that holds what it names" {
	problems=$(errata_problems "$ROOT/docs/errata.md")
	[ -z "$problems" ] || fail "$problems"
}

# The check above can fail: a link moved one line up, onto the comment above
# a function, or onto the line above a call, is caught; so is one moved onto
# the die() under a call, whose message names the call.
@test "docs: an errata link moved off its line is caught" {
	stale=$(mktemp --suffix=.md)
	link=$(grep -o '\[`stage.h:[0-9]*`\](\.\./stage.h#L[0-9]*) `exit_with_parent()`' "$ROOT/docs/errata.md" | head -n 1)
	[ -n "$link" ] || fail "no link to exit_with_parent() in errata.md to move"
	line=$(sed -E 's/.*#L([0-9]+)\).*/\1/' <<<"$link")
	moved=${link//$line/$((line - 1))}
	{ echo "$moved"; grep -o '\[`[^`]*`\](\.\./[^)]*) `[^`]*`' "$ROOT/docs/errata.md"; } >"$stale"
	[ -z "$(errata_problems "$ROOT/docs/errata.md")" ] || fail "errata.md itself has problems"
	problems=$(errata_problems "$stale")
	[[ $problems == *"stage.h:$((line - 1))"* ]] || fail "the moved link was taken as good: $problems"
	link=$(grep -o '\[`09-cgroup-limits/main.c:[0-9]*`\]([^)]*) `unshare(CLONE_NEWCGROUP)`' "$ROOT/docs/errata.md" | head -n 1)
	line=$(sed -E 's/.*#L([0-9]+)\).*/\1/' <<<"$link")
	[[ $(sed -n "$((line + 1))p" "$ROOT/09-cgroup-limits/main.c") == *'die("child: unshare(CLONE_NEWCGROUP)")'* ]] ||
		fail "no die() under errata.md's unshare(CLONE_NEWCGROUP) to move it onto"
	echo "${link//$line/$((line + 1))}" >"$stale"
	problems=$(errata_problems "$stale")
	[[ $problems == *"main.c:$((line + 1)) does not hold"* ]] || fail "the link moved onto die() was taken as good: $problems"
}

# docs/zh: the same facts in Chinese for the articles' readers. Each page
# names the version of its English page it follows, has its transcripts and
# patch byte for byte, and links only to code lines its English page links to
# (docs/zhsync).
@test "docs/zh: every page has a Chinese page that follows its English page as it is now" {
	problems=$("$ROOT/docs/zhsync" check) || fail "$problems"
	[ "$(ls "$ROOT"/docs/zh/*.md | wc -l)" -ge "$(ls "$ROOT"/docs/*.md | wc -l)" ] || fail "pages missing"
}

# The check can fail, and says which page: an English page changed after its
# Chinese page was written, a transcript edited in a Chinese page (which make
# docs puts back), a link to a code line the English page does not point at,
# a Chinese page missing.
@test "docs/zh: an English page moved on, or a Chinese page's transcript or code link changed, is caught by name" {
	stale=$(mktemp -d)
	cp -r "$ROOT/docs/." "$stale"
	echo "One more sentence." >>"$stale/05-mount-proc.md"
	awk '!done && prev ~ /^\$ / && $0 !~ /^\$ / && $0 != "```" { $0 = $0 " stale"; done = 1 }
	     { print; prev = $0 }' "$ROOT/docs/zh/02-uts.md" >"$stale/zh/02-uts.md"
	echo "[main.c](../../07-user-map/main.c#L99999)" >>"$stale/zh/07-user-map.md"
	rm "$stale/zh/09-cgroup-limits.md"
	problems=$(ZHSYNC_DOCS=$stale "$ROOT/docs/zhsync" check) && fail "nothing was found"
	# what make docs does: the English page's transcripts, copied back
	ZHSYNC_DOCS=$stale "$ROOT/docs/zhsync" copy "$stale/zh/02-uts.md" | cmp -s - "$ROOT/docs/zh/02-uts.md" ||
		fail "docs/zhsync copy did not bring 02's transcripts back"
	[[ $problems == *"zh/05-mount-proc.md follows an older 05-mount-proc.md"* ]] || fail "05 not stale: $problems"
	[[ $problems == *"zh/02-uts.md: its transcripts or its patch differ"* ]] || fail "02's transcript: $problems"
	[[ $problems == *"zh/07-user-map.md links to ../../07-user-map/main.c#L99999, which 07-user-map.md does not"* ]] || fail "07's link: $problems"
	[[ $problems == *"zh/09-cgroup-limits.md is missing"* ]] || fail "09 missing: $problems"
	[ "$(wc -l <<<"$problems")" -eq 4 ] || fail "more than the four: $problems"
}

@test "docs/zh: the README's first lines and make help lead to the Chinese pages" {
	head -n 5 "$ROOT/README.md" | grep -q '(docs/zh/README.md)' || fail "README.md's first lines do not link docs/zh/README.md"
	grep -q 'make stage N=4 && sudo ./stage4' "$ROOT/docs/zh/README.md" || fail "docs/zh/README.md lacks the first command"
	grep -q 'sudo make test' "$ROOT/docs/zh/README.md" || fail "docs/zh/README.md lacks the second"
	help=$(make -s -C "$ROOT" help)
	[[ $help == *docs/README.md* && $help == *docs/zh/README.md* ]] || fail "make help: $help"
}
