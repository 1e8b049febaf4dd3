"""Measurements that justify choices of the training recipe (run by hand, not by CI)."""
