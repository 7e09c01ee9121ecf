"""The API's routers: one per domain, thin (validation in the engine's edge, storage in b2m.service.store)."""
