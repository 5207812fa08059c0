/*
 * wardenctl subcommands. Each lives in agent/ctl/<name>.c and has the signature of
 * ctl_cmd_fn: argv[0] is the subcommand name; it returns the process exit status
 * (0 success, 1 failure the user should see, 2 usage error). Subcommands print; the
 * libraries they call never do.
 */
#ifndef WARD_AGENT_CTL_H
#define WARD_AGENT_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*ctl_cmd_fn)(int argc, char **argv);

int ctl_fileinfo(int argc, char **argv);
int ctl_profile(int argc, char **argv);
int ctl_status(int argc, char **argv);
int ctl_rule(int argc, char **argv);
int ctl_request(int argc, char **argv);  /* agent/ctl/request.c: exception requests */
int ctl_requests(int argc, char **argv);
int ctl_approve(int argc, char **argv);
int ctl_deny(int argc, char **argv);
int ctl_blocked(int argc, char **argv);
int ctl_sync(int argc, char **argv);     /* agent/ctl/sync.c: runs warden-sync --once */
int ctl_fileaccess(int argc, char **argv); /* agent/ctl/fileaccess.c */

/* After a rule change at generation gen of the store at db, have a running agent confirm
 * it enforces it from that store (agent/ctl/rule.c); true without an agent; false with
 * *why otherwise. */
bool ctl_notify_agent(const char *db, uint64_t gen, char *why, size_t whylen);
int ctl_scan(int argc, char **argv);
int ctl_simulate(int argc, char **argv); /* agent/ctl/simulate.c: eslogger replay */

/* Exit codes shared by every subcommand. */
#define CTL_EXIT_OK    0
#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2

#endif
