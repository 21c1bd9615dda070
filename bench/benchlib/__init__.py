"""Helpers of bench/bench.py: lab, topology, systems, measurements, scale, profile, report."""
