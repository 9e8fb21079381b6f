"""Helpers shared by the functional and e2e tiers (not fixtures: plain functions and small classes)."""
