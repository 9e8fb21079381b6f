"""`sevbridge`: the operator CLI (platforms now; backfills and redrive in later issues)."""
