/*
 * Default locations that differ by platform: what a Linux admin (FHS, systemd's
 * RuntimeDirectory) and a Mac admin (/Library, /var/db, /var/run) expect. The Linux
 * values are those warden always had; docs/macos.md lists both. Only macros: any file
 * may include it.
 */
#ifndef WARD_COMMON_PATHS_H
#define WARD_COMMON_PATHS_H

/* Where macOS puts the preference domains MDM manages (configuration profiles' payloads,
 * one <domain>.plist each, often binary). The loader reads only warden's and Santa's
 * domains there (profiles/config.c), on any platform. */
#define WARD_MANAGED_PREFS_DIR "/Library/Managed Preferences"

#if defined(__APPLE__)
/* /Library/Warden holds the binaries too (pkg/macos/build-pkg.sh); profiles come from
 * MDM, through the managed preferences */
#define WARD_DEFAULT_CONFIG   "/Library/Warden/warden.conf"
#define WARD_DEFAULT_PROFILES WARD_MANAGED_PREFS_DIR
#define WARD_DEFAULT_SOCKET   "/var/run/warden/control.sock"
#define WARD_DEFAULT_DB       "/var/db/warden/warden.db"
#else
#define WARD_DEFAULT_CONFIG   "/etc/warden/warden.conf"
#define WARD_DEFAULT_PROFILES "/etc/warden/profiles"
#define WARD_DEFAULT_SOCKET   "/run/warden/control.sock"
#define WARD_DEFAULT_DB       "/var/lib/warden/warden.db"
#endif

#endif
