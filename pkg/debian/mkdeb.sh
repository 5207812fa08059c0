#!/usr/bin/env bash
# make deb: turn the tree `make install DESTDIR=DEBDIR/debian/warden PREFIX=/usr` staged
# into DEBDIR/warden_<version>_<arch>.deb with dpkg-deb (no debhelper: a hand-written
# control, the maintainer scripts of pkg/debian/, Depends from dpkg-shlibdeps).
# Usage: mkdeb.sh DEBDIR VERSION MAINTAINER
set -eu
top=$1 version=$2 maint=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$top/debian/warden
[ -x "$root/usr/sbin/wardend" ] || { echo "mkdeb: nothing staged in $root (make deb stages it)" >&2; exit 1; }
arch=$(dpkg --print-architecture)

# The agent's state and log directories and the profiles directory are made by postinst
# (and removed by postrm: dpkg would leave them with a warning when not empty).
rmdir "$root/var/lib/warden" "$root/var/log/warden" "$root/etc/warden/profiles"
rmdir --ignore-fail-on-non-empty "$root/var/lib" "$root/var/log" "$root/var"

# Binaries stripped as dh_strip does.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$root"/usr/bin/* "$root"/usr/sbin/*
# Man pages compressed, reproducibly.
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +
# Copyright, changelog.
doc=$root/usr/share/doc/warden
install -m 0644 "$here/copyright" "$doc/copyright"
{
	printf 'warden (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built with make deb%s.\n\n' \
		"$(git -C "$here" rev-parse --short HEAD 2>/dev/null | sed 's/^/ from commit /')"
	printf ' -- %s  %s\n' "$maint" "$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"
# The configuration: MONITOR until the administrator says otherwise (a conffile).
install -m 0644 "$here/warden.conf" "$root/etc/warden/warden.conf"

mkdir -p "$root/DEBIAN"
chmod 0755 "$root/DEBIAN"
printf '/etc/warden/warden.conf\n' >"$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$root/DEBIAN/$s"; done

# Depends: the shared libraries the binaries link, as dpkg-shlibdeps finds them.
printf 'Source: warden\n\nPackage: warden\nArchitecture: any\n' >"$top/debian/control"
depends=$(cd "$top" && dpkg-shlibdeps -O debian/warden/usr/bin/* debian/warden/usr/sbin/* |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
	>"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maint|" \
	-e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" "$here/control.in" >"$root/DEBIAN/control"

deb=$top/warden_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "  DEB     $deb"
