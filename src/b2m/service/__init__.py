"""The clinical service: a REST API over stored patients and their lab history, with users, roles and an audit
trail (``b2m serve``).

Layout: :mod:`~b2m.service.settings` (configuration from the environment, refusing default secrets),
:mod:`~b2m.service.db` (SQLAlchemy models, the engine, Alembic migrations shipped in the package),
:mod:`~b2m.service.security` (passwords, tokens, CSRF), :mod:`~b2m.service.access` (who may call what),
:mod:`~b2m.service.store` (patients and results as stored), :mod:`~b2m.service.audit`, the thin routers under
:mod:`~b2m.service.routers`, and :func:`~b2m.service.app.create_app` joining them. The FHIR / CDS Hooks routes
and the web pages are mounted in the same app.
"""
