"""A mail.tm-compatible API: the routes, JSON-LD (hydra) shapes and live updates that existing
mail.tm client libraries use, over the same zero-access inboxes as tempmail's own API."""
