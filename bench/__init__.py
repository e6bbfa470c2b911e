"""Benchmarks that start the server as a user would and print figures (not tests).

Run `python -m bench.harness --help`; scenarios live in bench/scenarios/ (see bench/README.md)."""
from bench.core import BenchContext, Figures, Req

__all__ = ["BenchContext", "Figures", "Req"]
