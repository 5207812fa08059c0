/*
 * Reading a file a user names over the control socket (an exception request, or the
 * check an approval makes), with the user's rights and within bounds, so a hostile name
 * cannot make the agent read what the user could not, or read forever:
 *   - opened with the peer's file-system uid/gid and no supplementary groups, and with
 *     openat2(RESOLVE_NO_MAGICLINKS): /proc/self/fd/N and friends resolve in the agent,
 *     to the agent's own files, so they are refused;
 *   - only regular files on ordinary filesystems: procfs, sysfs and the other kernel
 *     pseudo filesystems (whose st_size says nothing of what a read returns), devices,
 *     FIFOs and sockets are refused;
 *   - at most WARD_REQ_MAX_FILE_BYTES, and at most st_size bytes are read;
 *   - the SHA-256 stops when deadline_ns (CLOCK_MONOTONIC) passes: WARD_E_TIMEOUT.
 * Thread-safe; the file-system identity switch is per thread (setfsuid/raw setgroups).
 */
#ifndef WARD_AGENT_REQFILE_H
#define WARD_AGENT_REQFILE_H

#include <stdint.h>
#include <sys/stat.h>

#include "agent/control.h"
#include "scanner/identity.h"

/*
 * Open path for peer as above. Returns the fd (O_RDONLY|O_CLOEXEC|O_NONBLOCK) and fills
 * *sb, or -1 with err filled (WARD_E_NOTFOUND, WARD_E_PERM, WARD_E_INVAL for a file of
 * the wrong kind, WARD_E_LIMIT for a file too large, WARD_E_IO).
 */
int ward_reqfile_open(const ward_ctl_peer_t *peer, const char *path, struct stat *sb,
                      ward_error_t *err);

/*
 * The identity of the open regular file fd of size sb->st_size: its SHA-256 (reading
 * at most st_size bytes, stopping at deadline_ns) and, for Mach-O, its signature.
 * WARD_OK with *id filled, or an error (WARD_E_TIMEOUT when the deadline passed).
 */
ward_err_t ward_reqfile_identity(int fd, const struct stat *sb, uint64_t deadline_ns,
                                 ward_identity_t *id, ward_error_t *err);

#endif
