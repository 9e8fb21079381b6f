"""Backfills (B1–B3, M6): bulk jobs that push historic documents to sevDesk or pull history from it."""
