"""The ``storyreel`` command's modules (each with ``register(subparsers)``)."""
