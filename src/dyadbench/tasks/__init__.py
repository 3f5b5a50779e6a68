"""Benchmark tasks: declarations (registry.py, builtin.py) and the protocols that gather their inputs."""
