#!/usr/bin/env bash
# pkg/macos: every plist parses as an XML property list with the keys macOS needs, the
# warden payload validates with warden's own profile reader, and the package script
# stages its payload (packaging itself needs a Mac). No root needed.
set -u
cd "$(dirname "$0")/../.."
B=${WARDEN_BUILD:-build}
W=$(mktemp -d) || exit 1
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
python3 - <<'PY' || fail "plist checks"
import glob, plistlib, sys
def load(p):
    with open(p, "rb") as f:
        return plistlib.load(f, fmt=plistlib.FMT_XML)
ld = load("pkg/macos/org.warden.wardend.plist")
assert ld["Label"] == "org.warden.wardend" and ld["ProgramArguments"][0] == "/Library/Warden/wardend", ld
assert ld["KeepAlive"] is True and ld["RunAtLoad"] is True
# launchd daemons stay in the foreground; every path is the macOS default that
# wardenctl shares (another --db or --socket would split the two)
assert ld["ProgramArguments"][1:] == ["--foreground"], ld["ProgramArguments"]
ent = load("pkg/macos/wardend.entitlements")
assert ent == {"com.apple.developer.endpoint-security.client": True}, ent
info = load("pkg/macos/Info.plist")
assert info["CFBundlePackageType"] == "SYSX" and info["CFBundleIdentifier"] == "org.warden.agent"
sx = load("pkg/macos/profiles/system-extension.mobileconfig")["PayloadContent"][0]
assert sx["PayloadType"] == "com.apple.system-extension-policy"
assert "EndpointSecurityExtension" in sx["AllowedSystemExtensionTypes"]["TEAMID0000"]
assert "org.warden.agent" in sx["AllowedSystemExtensions"]["TEAMID0000"]
tcc = load("pkg/macos/profiles/pppc-full-disk-access.mobileconfig")["PayloadContent"][0]
fda = tcc["Services"]["SystemPolicyAllFiles"]
assert {e["Identifier"] for e in fda} == {"org.warden.agent", "/Library/Warden/wardend"}
assert all(e["Authorization"] == "Allow" and "TEAMID0000" in e["CodeRequirement"] for e in fda)
uuids = []
for p in glob.glob("pkg/macos/profiles/*.mobileconfig"):
    d = load(p)
    assert d["PayloadType"] == "Configuration" and d["PayloadScope"] == "System", p
    uuids += [d["PayloadUUID"]] + [c["PayloadUUID"] for c in d["PayloadContent"]]
assert len(uuids) == len(set(uuids)), "PayloadUUIDs must be unique"
PY
echo '{}' >"$W/empty.conf"
$B/wardenctl profile validate --config "$W/empty.conf" --json pkg/macos/profiles/warden.mobileconfig |
	jq -e '.valid and .files[0].warnings == []' >/dev/null || fail "warden payload does not validate cleanly"
echo "  plists, entitlements, MDM profiles: ok"
# The cross-built wardend (make macos), when there is one: the defaults the plist relies
# on are compiled in, and --help says what macOS refuses.
for a in aarch64 x86_64; do
	f=$B/macos/$a/wardend
	[ -f "$f" ] || continue
	for s in /Library/Warden/warden.conf "/Library/Managed Preferences" /var/db/warden/warden.db \
	         /var/run/warden/control.sock "EndpointSecurity AUTH_EXEC"; do
		grep -qaF "$s" "$f" || fail "$f: no '$s' compiled in"
	done
	grep -qaF /var/run/warden/control.sock "$B/macos/$a/wardenctl" || fail "$a wardenctl: not the agent's socket"
	echo "  $a wardend and wardenctl share the macOS defaults: ok"
done
mkdir -p "$W/build/macos/aarch64" "$W/build/macos/x86_64"
for a in aarch64 x86_64; do for t in wardend wardenctl; do printf 'x' >"$W/build/macos/$a/$t"; done; done
pkg/macos/build-pkg.sh --stage-only "$W/build" "$W/out" >/dev/null || fail "stage"
for f in root/Library/LaunchDaemons/org.warden.wardend.plist scripts/postinstall mdm/warden.mobileconfig \
         wardend-aarch64 wardenctl-x86_64; do
	[ -e "$W/out/$f" ] || fail "staged payload lacks $f"
done
[ -x "$W/out/scripts/postinstall" ] || fail "postinstall not executable"
echo "  package staging: ok"
echo ok
