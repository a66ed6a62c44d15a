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

teardown() { rm -f "${stale:-}"; }

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
		[ "$shown" = "$(tail -n +2 "$ROOT/$applied")" ] || fail "${page##*/} shows a diff that is not $applied"
		# each row's last column names a test that exists
		while IFS= read -r test; do
			grep -qxF -- "$test" <<<"$tests" || fail "${page##*/} names no such test: $test"
		done < <(sed -n '/^## Break it/,$p' "$page" | grep '^| `' | awk -F' [|] ' '{ print $3 }' | sed 's/ |$//')
	done
}

# errata.md points at the lines that do each job right, as
# [`FILE:LINE`](../FILE#LLINE) `what`: a function() of FILE the line must lie
# in, or code the line must hold (up to the first "…" or "<"; a function
# that FILE only calls, as its call). An edit that moves
# the code and not the link fails here.
@test "docs: every line errata.md points at holds what it names" {
	local count=0 link path line what first last
	while IFS= read -r link; do
		path=$(sed -E 's/.*\]\(\.\.\/([^#]*)#L.*/\1/' <<<"$link")
		line=$(sed -E 's/.*#L([0-9]+)\).*/\1/' <<<"$link")
		what=$(sed -E 's/.*\) `([^`]*)`$/\1/' <<<"$link")
		[ -f "$ROOT/$path" ] || fail "errata.md links to $path, which is not there"
		[[ $link == "[\`${path##*/}:$line\`]"* || $link == "[\`$path:$line\`]"* ]] ||
			fail "errata.md: the text of $link is not its target"
		if [[ $what =~ ^[a-z_0-9]+\(\)$ ]] &&
			first=$(grep -n -m 1 -E "^[a-z_].*\\b${what%()}\\(|^${what%()}\\(" "$ROOT/$path" | cut -d: -f1) &&
			[ -n "$first" ]; then
			last=$(tail -n +"$first" "$ROOT/$path" | grep -n -m 1 '^}' | cut -d: -f1)
			last=$((first + last - 1))
			[ "$line" -ge "$first" ] && [ "$line" -le "$last" ] ||
				fail "errata.md: $path:$line is not in $what (lines $first-$last)"
		else
			[[ $what == *'()' ]] && what=${what%)} # a call: clone()
			what=${what%%…*}
			what=${what%%<*}
			sed -n "${line}p" "$ROOT/$path" | grep -qF -- "$what" ||
				fail "errata.md: $path:$line does not hold '$what'"
		fi
		count=$((count + 1))
	done < <(grep -o '\[`[^`]*`\](\.\./[^)]*) `[^`]*`' "$ROOT/docs/errata.md")
	[ "$count" -ge 20 ] || fail "errata.md: only $count links found"
	[ "$count" -eq "$(grep -o '#L[0-9]*)' "$ROOT/docs/errata.md" | wc -l)" ] ||
		fail "errata.md: a link to a line is not in the form [\`FILE:LINE\`](../FILE#LLINE) \`what\`"
}
