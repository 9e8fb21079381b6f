"""Minimal Powertools + boto3 handlers: what a cold start costs with no application code, the baseline
the bench divides each function's cold import by (benchmarks/coldstart.py)."""
