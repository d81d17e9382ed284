"""Deduplication of unit sequences with run-length durations, and unit BPE."""
__all__ = []
