"""The camera registry: regions, cameras, their credentials at rest, and bulk import.

Data access is keyword-only functions that take the session (``regions``, ``cameras``); inputs
are validated by the models in ``specs``; errors are the tree in ``errors``.
"""
