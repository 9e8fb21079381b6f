"""The pull domain: sevDesk records back to the platform (M1–M5, M7) as a change feed.

Pure domain code (no boto3, no httpx): mapping rules over sevDesk's live wire shape, the import run
state machine with watermarks and per-page checkpoints, echo suppression and conflicts, deletion
reconciliation. sevDesk, storage and the queue come in through ports.py.
"""
