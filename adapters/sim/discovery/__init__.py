"""WS-Discovery for simulated cameras: pure messages (``messages``) and the UDP responder (``responder``)."""
