/* Compiler processes and their outputs (see compiler.h). */
#include "agent/compiler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/wake.h"

struct proc {
	pid_t pid;
	uint64_t pidversion;
	ward_filekey_t exe;
	uint64_t tick;
};

struct output {
	int fd;
	pid_t pid;
};

struct ward_compilers {
	pthread_mutex_t mu;
	struct proc procs[WARD_COMPILER_PIDS];
	uint64_t tick;
	struct output outs[WARD_COMPILER_OUTPUTS];
	unsigned head, count;
	uint64_t dropped;
	ward_wake_t wake;       /* an output is queued */
};

ward_err_t ward_compilers_create(ward_compilers_t **out, ward_error_t *err)
{
	ward_compilers_t *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "compilers: out of memory");
	if (!ward_wake_init(&c->wake)) {
		free(c);
		return ward_error_set(err, WARD_E_IO, "compilers: pipe: %s", strerror(errno));
	}
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return WARD_OK;
}

void ward_compilers_destroy(ward_compilers_t *c)
{
	int fd;
	pid_t pid;

	if (c == NULL)
		return;
	while (ward_compilers_pop_output(c, &fd, &pid))
		close(fd);
	ward_wake_close(&c->wake);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void ward_compilers_add(ward_compilers_t *c, pid_t pid, uint64_t pidversion,
                        const ward_filekey_t *exe)
{
	struct proc *victim = &c->procs[0];

	pthread_mutex_lock(&c->mu);
	for (unsigned i = 0; i < WARD_COMPILER_PIDS; i++) {
		if (c->procs[i].pid == pid) {
			victim = &c->procs[i];
			break;
		}
		if (c->procs[i].tick < victim->tick)
			victim = &c->procs[i];
	}
	victim->pid = pid;
	victim->pidversion = pidversion;
	victim->exe = *exe;
	victim->tick = ++c->tick;
	pthread_mutex_unlock(&c->mu);
}

bool ward_compilers_lookup(ward_compilers_t *c, pid_t pid, uint64_t *pidversion,
                           ward_filekey_t *exe)
{
	bool found = false;

	pthread_mutex_lock(&c->mu);
	for (unsigned i = 0; i < WARD_COMPILER_PIDS; i++)
		if (c->procs[i].pid == pid && c->procs[i].tick != 0) {
			*pidversion = c->procs[i].pidversion;
			*exe = c->procs[i].exe;
			found = true;
			break;
		}
	pthread_mutex_unlock(&c->mu);
	return found;
}

bool ward_compilers_push_output(ward_compilers_t *c, int fd, pid_t pid)
{
	bool ok = false;

	pthread_mutex_lock(&c->mu);
	if (c->count < WARD_COMPILER_OUTPUTS) {
		c->outs[(c->head + c->count) % WARD_COMPILER_OUTPUTS] = (struct output){ fd, pid };
		c->count++;
		ok = true;
	} else {
		c->dropped++;
	}
	pthread_mutex_unlock(&c->mu);
	if (ok)
		ward_wake_signal(&c->wake);
	else
		close(fd);
	return ok;
}

bool ward_compilers_pop_output(ward_compilers_t *c, int *fd, pid_t *pid)
{
	bool ok = false;

	pthread_mutex_lock(&c->mu);
	if (c->count > 0) {
		*fd = c->outs[c->head].fd;
		*pid = c->outs[c->head].pid;
		c->head = (c->head + 1) % WARD_COMPILER_OUTPUTS;
		c->count--;
		ok = true;
	}
	if (c->count == 0)
		ward_wake_drain(&c->wake);
	pthread_mutex_unlock(&c->mu);
	return ok;
}

int ward_compilers_wakefd(ward_compilers_t *c)
{
	return ward_wake_fd(&c->wake);
}

uint64_t ward_compilers_dropped(ward_compilers_t *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->mu);
	n = c->dropped;
	pthread_mutex_unlock(&c->mu);
	return n;
}
