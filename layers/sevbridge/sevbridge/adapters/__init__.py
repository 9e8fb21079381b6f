"""Adapters: DynamoDB, KMS, SQS and the sevDesk HTTP client. They implement the domain ports."""
