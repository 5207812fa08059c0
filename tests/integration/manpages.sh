#!/usr/bin/env bash
# The man pages (docs/man) tell the truth about the binaries they describe:
#  - every verb of 'wardenctl help' has its own subsection in wardenctl.8, and every
#    long option 'wardenctl VERB --help' prints appears in that subsection;
#  - every long option of 'wardend --help' appears in wardend.8, of 'warden-sync --help'
#    in warden-sync.8;
#  - every configuration key of the key table ('wardenctl profile keys --json', which
#    the loader reads keys with; ExceptionPolicy sub-keys included) appears in
#    warden.conf.5, and its example profile validates;
#  - every page renders without a single warning (man --warnings, groff -ww, and
#    mandoc -T lint when it is installed);
#  - 'make install' puts them in man5/ and man8/.
# The checks are pages against the binaries, so a new option without a line in the
# page fails here. The test then breaks copies of the pages on purpose (an option
# removed, a verb removed, a key removed, a roff error) and requires each to fail,
# so it cannot pass by checking nothing. No root needed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${WARDEN_BUILD:-$ROOT/build}
W=$B/wardenctl
D=$B/wardend
S=$B/warden-sync
MAN=$ROOT/docs/man
[ -x "$W" ] || { echo "no $W (run make)"; exit 1; }
[ -x "$D" ] || { echo "no $D (run make)"; exit 1; }
[ -x "$S" ] || { echo "no $S (run make)"; exit 1; }
for t in groff man jq; do
	command -v $t >/dev/null || { echo "$t missing (make deps)"; exit 1; }
done
T=$(mktemp -d /tmp/warden-man-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# The page as a reader sees it: plain ASCII text, no hyphenation, wide lines so that
# no option is split.
render() {
	groff -man -Tascii -rLL=200n -rHY=0 -P-cbou "$1" 2>/dev/null
}

# The long options a help text mentions, once each.
long_opts() {
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# Does the text on stdin mention option $1 as a whole word ('--block' is not found in
# '--silent-block', nor '--status' in '--statusx')?
has_opt() {
	grep -qE -- "(^|[^A-Za-z0-9-])$1([^A-Za-z0-9-]|$)"
}

# The rendered subsection "wardenctl VERB" of a rendered wardenctl.8 (file $1): from
# its heading (indent 3) to the next subsection or section heading.
verb_section() {
	awk -v h="   wardenctl $2" '
		$0 == h { on = 1; next }
		on && (/^   [^ ]/ || /^[A-Z]/) { exit }
		on { print }' "$1"
}

verbs() {
	"$W" help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

# check_warnings PAGE: no warning from man-db, groff (all warnings) or mandoc.
check_warnings() {
	local p=$1 out n=0
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
	[ -z "$out" ] || { echo "  $(basename "$p"): man --warnings: $out" | head -5; n=1; }
	out=$(groff -man -ww -z "$p" 2>&1)
	[ -z "$out" ] || { echo "  $(basename "$p"): groff -ww: $out" | head -5; n=1; }
	if command -v mandoc >/dev/null; then
		# STYLE (source lines over 80 bytes and the like) is advice, not an error.
		out=$(mandoc -T lint -W warning "$p" 2>&1)
		[ -z "$out" ] || { echo "  $(basename "$p"): mandoc: $out" | head -5; n=1; }
	fi
	return $n
}

# check_wardenctl PAGE: every verb has a subsection, with every option of its --help.
check_wardenctl() {
	local page=$1 txt=$T/wardenctl.txt v o sec n=0 nv=0 no=0
	render "$page" >"$txt"
	for v in $(verbs); do
		nv=$((nv + 1))
		sec=$(verb_section "$txt" "$v")
		if [ -z "$sec" ]; then
			echo "  wardenctl.8: no subsection 'wardenctl $v'"
			n=1
			continue
		fi
		# 'version --help' prints its usage on stderr and exits 2: take both streams.
		for o in $("$W" "$v" --help 2>&1 | long_opts); do
			no=$((no + 1))
			has_opt "$o" <<<"$sec" || { echo "  wardenctl.8: 'wardenctl $v': $o missing"; n=1; }
		done
	done
	# the top-level options ('wardenctl --help', --version)
	for o in $("$W" help | long_opts) --version; do
		has_opt "$o" <"$txt" || { echo "  wardenctl.8: $o missing"; n=1; }
	done
	[ $nv -ge 11 ] && [ $no -ge 60 ] || { echo "  only $nv verbs, $no options found: is 'wardenctl help' parsed?"; n=1; }
	return $n
}

# check_wardend PAGE: every option of 'wardend --help'.
check_wardend() {
	local txt=$T/wardend.txt o n=0 no=0
	render "$1" >"$txt"
	for o in $("$D" --help | long_opts); do
		no=$((no + 1))
		has_opt "$o" <"$txt" || { echo "  wardend.8: $o missing"; n=1; }
	done
	[ $no -ge 15 ] || { echo "  only $no wardend options found"; n=1; }
	return $n
}

# check_sync PAGE: every option of 'warden-sync --help'.
check_sync() {
	local txt=$T/warden-sync.txt o n=0 no=0
	render "$1" >"$txt"
	for o in $("$S" --help | long_opts); do
		no=$((no + 1))
		has_opt "$o" <"$txt" || { echo "  warden-sync.8: $o missing"; n=1; }
	done
	[ $no -ge 8 ] || { echo "  only $no warden-sync options found"; n=1; }
	return $n
}

# check_conf PAGE: every configuration key the library knows, and the example profile.
check_conf() {
	local txt=$T/conf.txt k n=0 nk=0
	render "$1" >"$txt"
	mkdir -p "$T/conf"
	echo '{}' >"$T/conf/warden.conf"
	"$W" profile show --json --config "$T/conf/warden.conf" --dir "$T/conf/none" >"$T/conf/show.json" ||
		{ echo "  profile show failed"; return 1; }
	"$W" profile keys --json >"$T/conf/keys.json" || { echo "  profile keys failed"; return 1; }
	# profile show prints only keys of the table (the table drives it)
	for k in $(jq -r '.config | keys[]' "$T/conf/show.json"); do
		jq -e --arg k "$k" '[.keys[].name] | index($k)' "$T/conf/keys.json" >/dev/null ||
			{ echo "  profile show prints $k, which profile keys does not list"; n=1; }
	done
	for k in $(jq -r '.keys[].name' "$T/conf/keys.json") \
	         $(jq -r '.config.ExceptionPolicy | keys[]' "$T/conf/show.json"); do
		nk=$((nk + 1))
		grep -qE "(^|[^A-Za-z])$k([^A-Za-z]|$)" "$txt" || { echo "  warden.conf.5: key $k missing"; n=1; }
	done
	[ $nk -ge 20 ] || { echo "  only $nk keys found"; n=1; }
	# The example profile, as printed in the page source (\- is a plain hyphen there).
	sed -n '/^<?xml/,/^<\/plist>/p' "$1" | sed 's/\\-/-/g' >"$T/conf/example.mobileconfig"
	if [ ! -s "$T/conf/example.mobileconfig" ]; then
		echo "  warden.conf.5: no example profile"
		n=1
	elif ! "$W" profile validate --config "$T/conf/warden.conf" "$T/conf/example.mobileconfig" \
	        >"$T/conf/validate.out" 2>&1; then
		echo "  warden.conf.5: the example profile does not validate:"
		sed 's/^/    /' "$T/conf/validate.out"
		n=1
	fi
	return $n
}

# ---------------------------------------------------------------- the real pages
for p in wardend.8 wardenctl.8 warden-sync.8 warden.conf.5; do
	[ -f "$MAN/$p" ] || { bad "docs/man/$p exists"; continue; }
	check_warnings "$MAN/$p" && ok "$p renders without warnings" || bad "$p renders without warnings"
done
check_wardenctl "$MAN/wardenctl.8" && ok "wardenctl.8: every verb and every option of its --help" ||
	bad "wardenctl.8: every verb and every option of its --help"
check_wardend "$MAN/wardend.8" && ok "wardend.8: every option of wardend --help" ||
	bad "wardend.8: every option of wardend --help"
check_sync "$MAN/warden-sync.8" && ok "warden-sync.8: every option of warden-sync --help" ||
	bad "warden-sync.8: every option of warden-sync --help"
check_conf "$MAN/warden.conf.5" && ok "warden.conf.5: every configuration key; the example validates" ||
	bad "warden.conf.5: every configuration key; the example validates"

# ---------------------------------------------------------------- installed
if make -C "$ROOT" --no-print-directory -s install DESTDIR="$T/inst" PREFIX=/usr BUILD="$B" \
        >"$T/install.out" 2>&1 &&
   [ -f "$T/inst/usr/share/man/man8/wardend.8" ] && [ -f "$T/inst/usr/share/man/man8/wardenctl.8" ] &&
   [ -f "$T/inst/usr/share/man/man5/warden.conf.5" ] && [ -f "$T/inst/usr/share/man/man8/warden-sync.8" ] &&
   MANPATH="$T/inst/usr/share/man" man -w warden.conf >/dev/null 2>&1; then
	ok "make install: man8/wardend.8, man8/wardenctl.8, man5/warden.conf.5 (man -w finds it)"
else
	bad "make install puts the pages in man5/ and man8/"
	tail -n 5 "$T/install.out"
fi

# ---------------------------------------------------------------- the checks can fail
# Each broken copy must be caught by the check that guards it.
mkdir -p "$T/broken"
must_fail() { # name, check function, page, what the check must say
	if "$2" "$3" >"$T/broken/out" 2>&1; then
		bad "caught: $1 (the check passed a broken page)"
	elif ! grep -qF -- "$4" "$T/broken/out"; then
		bad "caught: $1 (failed, but not with '$4':)"
		sed 's/^/    /' "$T/broken/out"
	else
		ok "caught: $1 ($(grep -m1 -F -- "$4" "$T/broken/out" | sed 's/^ *//'))"
	fi
}
# an option removed from one verb's subsection only (it still appears elsewhere)
sed '/^\.SS "wardenctl scan"/,/^\.SS/{/max\\-bytes/d}' "$MAN/wardenctl.8" >"$T/broken/wardenctl.8"
must_fail "wardenctl.8 without scan --max-bytes" check_wardenctl "$T/broken/wardenctl.8" "'wardenctl scan': --max-bytes missing"
# a verb's subsection heading removed
sed '/^\.SS "wardenctl blocked"/d' "$MAN/wardenctl.8" >"$T/broken/wardenctl.8"
must_fail "wardenctl.8 without its 'blocked' subsection" check_wardenctl "$T/broken/wardenctl.8" \
	"no subsection 'wardenctl blocked'"
# a wardend option removed
sed '/mount\\-marks/d' "$MAN/wardend.8" >"$T/broken/wardend.8"
must_fail "wardend.8 without --mount-marks" check_wardend "$T/broken/wardend.8" "--mount-marks missing"
sed '/backoff\\-ms/d' "$MAN/warden-sync.8" >"$T/broken/warden-sync.8"
must_fail "warden-sync.8 without --backoff-ms" check_sync "$T/broken/warden-sync.8" "--backoff-ms missing"
# a configuration key removed
sed '/MaxExpirySeconds/d' "$MAN/warden.conf.5" >"$T/broken/warden.conf.5"
must_fail "warden.conf.5 without MaxExpirySeconds" check_conf "$T/broken/warden.conf.5" \
	"key MaxExpirySeconds missing"
# a key profile show never prints (recognised only to be refused): the table catches it
sed '/ClientAuthCertificateIssuerCN/d' "$MAN/warden.conf.5" >"$T/broken/warden.conf.5"
must_fail "warden.conf.5 without ClientAuthCertificateIssuerCN" check_conf "$T/broken/warden.conf.5" \
	"key ClientAuthCertificateIssuerCN missing"
# a broken example profile
sed 's|<integer>2</integer>|<integer>7</integer>|' "$MAN/warden.conf.5" >"$T/broken/warden.conf.5"
must_fail "warden.conf.5 with ClientMode 7 in its example" check_conf "$T/broken/warden.conf.5" \
	"example profile does not validate"
# roff mistakes: an unknown macro, an unknown escape
sed 's/^\.SH FILES/.SHH FILES/' "$MAN/wardend.8" >"$T/broken/wardend.8"
must_fail "wardend.8 with an unknown macro" check_warnings "$T/broken/wardend.8" "SHH"
sed 's/^Verbose diagnostics\./Verbose \\(zz diagnostics./' "$MAN/wardend.8" >"$T/broken/wardend.8"
must_fail "wardend.8 with an unknown escape" check_warnings "$T/broken/wardend.8" "zz"

[ $fail -eq 0 ] && echo "manpages: all passed" || echo "manpages: FAILED"
exit $fail
