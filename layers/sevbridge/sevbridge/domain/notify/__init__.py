"""Notify: telling platforms what happened, by signed webhooks (design.md C3 "notify once", M5, "Outgoing
webhooks").

- `types`: the event types and their payload models (each documented in the OpenAPI `webhooks` section).
- `endpoints`, `routing`: where notifications go (platform endpoints, a tenant's URL override) and who wants what.
- `deliveries`, `backoff`: one delivery per (notification, destination), its attempts and retry schedule.
- `notifier`: builds the outbox items a state change writes in its own DynamoDB transaction.
- `dispatcher`, `sweeper`: deliver through the webhook queue; the schedule tick re-enqueues what is due.
- `admin`: the API's use cases (endpoints, secrets, test events, delivery log, replay).
"""
