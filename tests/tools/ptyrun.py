#!/usr/bin/env python3
"""Run a command on a fresh pseudo-terminal of its own and record what it shows.

usage: ptyrun.py OUTFILE READYFILE -- CMD [ARG...]

The command runs as the leader of a new session whose controlling terminal is the
pty's slave (the pty belongs to whoever runs this script). Everything written to the
terminal (the command's output and anything else that writes to it: warden's line)
is copied to OUTFILE as it arrives. READYFILE gets the slave's name once the command
runs. Exits with the command's status once it has exited and the terminal is closed.
"""
import errno
import fcntl
import os
import sys
import termios


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.stderr.write(__doc__)
        return 2
    out_path, ready_path, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]
    master, slave = os.openpty()
    name = os.ttyname(slave)
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    os.close(slave)
    with open(ready_path + ".tmp", "w") as f:
        f.write(name + "\n")
    os.rename(ready_path + ".tmp", ready_path)
    with open(out_path, "wb", buffering=0) as out:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError as e:
                if e.errno == errno.EIO:  # every slave descriptor is closed
                    break
                raise
            if not data:
                break
            out.write(data)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
