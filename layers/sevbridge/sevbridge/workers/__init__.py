"""Record handlers of the queue-driven functions; the Lambda handlers in functions/ stay thin."""
