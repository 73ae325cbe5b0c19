"""The benchmark: what a request costs the app, what telemetry adds, how it holds under load.

Run it with ``make bench`` (or ``python -m bench`` from the repository root); see BENCHMARKS.md.
"""
