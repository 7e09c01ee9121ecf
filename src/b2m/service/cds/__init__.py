"""CDS Hooks 2.0 inside the service (docs/fhir-conformance.md): discovery, the hook services, their cards, the trusted
clients' signed JWTs, the fall-back to the client's FHIR server, and feedback.

- :mod:`.config` - the CDS clients (EHRs) the service trusts, and the development-only demo EHR key;
- :mod:`.auth` - verifying a client's JWT (issuer allow-list, JWKS, ``aud``, ``exp``, ``iat``, ``jti`` once);
- :mod:`.models` - request, response, card and feedback models;
- :mod:`.services` - the services this b2m offers, with their prefetch templates;
- :mod:`.prefetch` - the resources of one call: its prefetch, else its ``fhirServer``;
- :mod:`.fetch` - the bounded outbound HTTP (the client's FHIR server, its JWK Set);
- :mod:`.hooks` - one call of a service: context, data, the edge, the assessment, the cards;
- :mod:`.cards` - cards from an assessment;
- :mod:`.example` - a hook call made from a patient document (``b2m cds request``, the benchmark).
"""
