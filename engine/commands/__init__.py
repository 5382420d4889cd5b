"""Command modules of the ``storyreel`` CLI that call engine operations (above ``ops``)."""
