#!/bin/bash
# Build warden's macOS installer package.
#   pkg/macos/build-pkg.sh [--stage-only] BUILD_DIR OUT_DIR
# Stages the payload (/Library/Warden/{wardend,wardenctl}, the LaunchDaemon plist, the
# MDM profiles for the admin) from BUILD_DIR/macos/<arch>/, then, on a Mac with Xcode's
# tools: makes universal binaries (lipo), signs them with the hardened runtime and the
# ES entitlement (DEVELOPER_ID_APP, DEVELOPER_ID_INSTALLER), builds the component and
# product packages (pkgbuild, productbuild) and notarizes (NOTARY_PROFILE, notarytool).
# --stage-only (or no pkgbuild on PATH, e.g. Linux) stops after staging; that part is
# what tests/integration/pkg_macos.sh checks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stage_only=false
[ "${1:-}" = --stage-only ] && { stage_only=true; shift; }
BUILD=${1:?BUILD_DIR}; OUT=${2:?OUT_DIR}
VERSION=${WARDEN_VERSION:-0.1.0}
root=$OUT/root
rm -rf "$OUT" && mkdir -p "$root/Library/Warden" "$root/Library/LaunchDaemons" \
	"$OUT/scripts" "$OUT/mdm"

for t in wardend wardenctl; do
	for a in aarch64 x86_64; do
		[ -f "$BUILD/macos/$a/$t" ] || { echo "build-pkg: no $BUILD/macos/$a/$t (make macos)" >&2; continue; }
		install -m 0755 "$BUILD/macos/$a/$t" "$OUT/$t-$a"
	done
done
install -m 0644 "$here/org.warden.wardend.plist" "$root/Library/LaunchDaemons/"
install -m 0644 "$here"/profiles/*.mobileconfig "$OUT/mdm/"
cat >"$OUT/scripts/postinstall" <<'SH'
#!/bin/sh
# Load (or reload) the LaunchDaemon; the MDM profiles must already grant Full Disk Access.
mkdir -p /var/db/warden /var/run/warden /var/log/warden
chmod 0700 /var/db/warden
chmod 0750 /var/log/warden
launchctl bootout system /Library/LaunchDaemons/org.warden.wardend.plist 2>/dev/null || true
launchctl bootstrap system /Library/LaunchDaemons/org.warden.wardend.plist
SH
chmod 0755 "$OUT/scripts/postinstall"

if $stage_only || ! command -v pkgbuild >/dev/null; then
	echo "build-pkg: staged in $OUT (packaging needs a Mac: lipo, codesign, pkgbuild)"
	exit 0
fi

for t in wardend wardenctl; do
	lipo -create -output "$root/Library/Warden/$t" "$OUT/$t-aarch64" "$OUT/$t-x86_64"
done
: "${DEVELOPER_ID_APP:?set DEVELOPER_ID_APP (Developer ID Application: ...)}"
codesign --force --options runtime --timestamp --sign "$DEVELOPER_ID_APP" \
	--entitlements "$here/wardend.entitlements" "$root/Library/Warden/wardend"
codesign --force --options runtime --timestamp --sign "$DEVELOPER_ID_APP" "$root/Library/Warden/wardenctl"
pkgbuild --root "$root" --scripts "$OUT/scripts" --identifier org.warden.pkg \
	--version "$VERSION" --install-location / "$OUT/warden-component.pkg"
productbuild --package "$OUT/warden-component.pkg" \
	${DEVELOPER_ID_INSTALLER:+--sign "$DEVELOPER_ID_INSTALLER"} "$OUT/warden-$VERSION.pkg"
if [ -n "${NOTARY_PROFILE:-}" ]; then
	xcrun notarytool submit "$OUT/warden-$VERSION.pkg" --keychain-profile "$NOTARY_PROFILE" --wait
	xcrun stapler staple "$OUT/warden-$VERSION.pkg"
fi
echo "build-pkg: $OUT/warden-$VERSION.pkg"
