"""Serving decisions: the live registry, the HTTP service and its OpenAPI document, the decision log,
and the batch.
"""
