"""Pure domain: models, rules and use cases. Imports neither boto3 nor httpx (a test checks)."""
