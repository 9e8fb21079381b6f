"""HTTP layer of the api function: Powertools resolver, routes, auth and error mapping."""
