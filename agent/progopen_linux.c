/*
 * Programs loaded without an exec, Linux: who opened the file, from /proc (see
 * agent/progopen.h).
 */
#include "agent/progopen.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/platform.h"

static bool elf_program(int fd)
{
	Elf64_Ehdr eh;
	ssize_t n = ward_pread(fd, &eh, sizeof(eh), 0);

	if (n < (ssize_t)EI_NIDENT + 4 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return false;
	if (eh.e_ident[EI_CLASS] == ELFCLASS64 && n == (ssize_t)sizeof(eh)) {
		if (eh.e_type == ET_EXEC)
			return true;
		if (eh.e_type != ET_DYN || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
			return false;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (ward_pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) != (ssize_t)sizeof(ph))
				return false;
			if (ph.p_type == PT_INTERP)
				return true;
		}
		return false;
	}
	if (eh.e_ident[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr e32;
		if (ward_pread(fd, &e32, sizeof(e32), 0) != (ssize_t)sizeof(e32))
			return false;
		if (e32.e_type == ET_EXEC)
			return true;
		if (e32.e_type != ET_DYN || e32.e_phentsize != sizeof(Elf32_Phdr) || e32.e_phnum > 256)
			return false;
		for (unsigned i = 0; i < e32.e_phnum; i++) {
			Elf32_Phdr ph;
			if (ward_pread(fd, &ph, sizeof(ph), (off_t)(e32.e_phoff + (uint64_t)i * sizeof(ph))) != (ssize_t)sizeof(ph))
				return false;
			if (ph.p_type == PT_INTERP)
				return true;
		}
	}
	return false;
}

ward_progopen_t ward_progopen_classify(const ward_config_t *cfg, pid_t pid, int fd, char *why,
                                       size_t whylen)
{
	char link[64], exe[1024], argv[4096];
	ssize_t n;
	int afd, cwd, idx, sfd;
	struct stat a, s;
	size_t off = 0;

	if (why && whylen)
		why[0] = '\0';
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if ((n = readlink(link, exe, sizeof(exe) - 1)) <= 0)
		return WARD_PROG_NONE;
	exe[n] = '\0';
	if (ward_progopen_is_loader(exe)) {
		if (!elf_program(fd))
			return WARD_PROG_NONE;
		if (why)
			snprintf(why, whylen, "loaded as a program by %s run as a command", exe);
		return WARD_PROG_LOADER;
	}
	if (!ward_progopen_is_interpreter(cfg, exe))
		return WARD_PROG_NONE;
	snprintf(link, sizeof(link), "/proc/%d/cmdline", (int)pid);
	if ((afd = open(link, O_RDONLY | O_CLOEXEC)) < 0)
		return WARD_PROG_NONE;
	n = read(afd, argv, sizeof(argv) - 1);
	close(afd);
	if (n <= 0)
		return WARD_PROG_NONE;
	argv[n] = '\0';
	if ((idx = ward_progopen_script_arg(exe, argv, (size_t)n)) < 0)
		return WARD_PROG_NONE;
	for (int i = 0; i < idx; i++)
		off += strlen(argv + off) + 1;
	if (off >= (size_t)n)
		return WARD_PROG_NONE;
	/* the argument resolved as the interpreter resolves it: against its cwd */
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	if ((cwd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return WARD_PROG_NONE;
	/* a path walk the user chose (a FUSE server answers it when it likes): not in the
	 * event reader */
	sfd = ward_nowait_refuse() ? -1 : openat(cwd, argv + off, O_PATH | O_CLOEXEC);
	close(cwd);
	if (sfd < 0)
		return WARD_PROG_NONE;
	if (fstat(sfd, &s) != 0 || fstat(fd, &a) != 0 || s.st_dev != a.st_dev || s.st_ino != a.st_ino) {
		close(sfd);
		return WARD_PROG_NONE;
	}
	close(sfd);
	if (why)
		snprintf(why, whylen, "read as a script by %s", exe);
	return WARD_PROG_SCRIPT;
}
