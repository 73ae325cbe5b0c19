"""uvicorn's own command line, exiting 0 after a graceful shutdown on SIGTERM.

After draining on SIGTERM uvicorn raises the signal again with the handler that was in place
when it started; by default that kills the process (exit status 143). ECS stops tasks with
SIGTERM, and a clean stop should look clean, so that handler exits 0 instead.
"""

import signal
import sys

import uvicorn


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.main()


if __name__ == "__main__":
    main()
