"""Helpers shared by the test suites: schemas, reflection servers, stream adapters."""
