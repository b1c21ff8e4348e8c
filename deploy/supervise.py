"""A minimal stand-in for systemd's socket activation: holds the listening socket, starts the app, restarts it.

``python deploy/supervise.py PORT -- python main.py`` listens on 127.0.0.1:PORT, passes the socket
to the command as descriptor 3 with ``LISTEN_FDS=1`` (as systemd does for deploy/connect4.socket),
and starts the command again whenever it exits, as ``Restart=always`` would. SIGTERM or SIGINT
stops the command and then the supervisor. The tests use it; on a server, use systemd.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

LISTEN_FD = 3


def main(argv: list[str]) -> int:
    """Supervise the command after ``--`` on the port given first; the exit status of the last run."""
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        print("usage: supervise.py PORT -- COMMAND...", file=sys.stderr)
        return 2
    listener = socket.create_server(("127.0.0.1", int(argv[0])), backlog=2048)
    if listener.fileno() != LISTEN_FD:
        os.dup2(listener.fileno(), LISTEN_FD)
    stopping: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while not stopping:
        env = {**os.environ, "LISTEN_FDS": "1"}
        child = subprocess.Popen(argv[2:], env=env, pass_fds=(LISTEN_FD,))
        status = child.wait()
        print(f"supervise: the app exited with status {status}", file=sys.stderr, flush=True)
        if not stopping:
            time.sleep(0.1)  # systemd's RestartSec=100ms
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
