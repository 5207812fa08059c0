/*
 * Thread confinement on macOS: none. macOS has no per-thread system-call filter
 * (seccomp's role); its sandbox (sandbox_init(3), deprecated, or a Seatbelt profile)
 * confines a whole process, and wardend's process must keep the ES client, the rule
 * store and the control socket. So the parsing threads run unconfined on macOS, and
 * status says so ("mechanism": "none"). What would give the same protection is
 * privilege separation: the parsers in a separate, sandboxed helper process (XPC
 * service) that wardend talks to; docs/macos.md lists it as not done.
 */
#include "agent/confine.h"

bool ward_confine_thread(ward_confine_kind_t kind)
{
	(void)kind;
	return false;
}

json_t *ward_confine_status(void)
{
	return json_pack("{s:b, s:I, s:I, s:s, s:s}", "enabled", 0, "confined_threads", (json_int_t)0,
	                 "failures", (json_int_t)0, "mechanism", "none",
	                 "reason", "macOS has no per-thread system-call filter: parser threads run "
	                           "unconfined (docs/macos.md)");
}
