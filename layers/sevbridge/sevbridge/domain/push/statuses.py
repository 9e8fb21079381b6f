"""sevDesk invoice statuses (api-facts §5). On their own, so that what only compares statuses (the
document fingerprint, hence the events intake) does not load the sevDesk port's records (ports.py)."""

DRAFT = 100
OPEN = 200
PARTIALLY_PAID = 750
PAID = 1000
