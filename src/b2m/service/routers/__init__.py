"""The API's routers: one per domain, thin (validation in the engine's edge, storage in b2m.service.store).

Every router carries the full ``/api/v1`` prefix itself, so each route's ``path`` is the address clients use
(the audit trail records it).
"""

API_PREFIX = "/api/v1"
