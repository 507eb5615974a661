"""Evaluation and benchmarking tooling, apart from the serving path: the service never imports it."""
