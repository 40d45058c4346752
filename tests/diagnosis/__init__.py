"""Diagnosis tests: detectors, gd.check, the CLI and the corpus (tests/cases)."""
