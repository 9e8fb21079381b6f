"""Neutral helpers shared by every layer (clock, ids, logging)."""
