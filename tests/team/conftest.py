"""The team tests use the ``pg`` and ``server_url`` fixtures of tests/conftest.py."""
