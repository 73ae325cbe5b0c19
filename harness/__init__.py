"""What the test suites (tests/) and the benchmark (bench/) both run: child processes and
ports, the AWS emulator, the local token issuer, the collector's build and its local config.

It imports neither tests nor bench, so the two depend on it and not on each other."""
