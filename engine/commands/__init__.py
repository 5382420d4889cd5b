"""The ``storyreel`` command's handlers, one module per area.

Above the operations in the layers (DESIGN.md: model < store < subsystems < ops <
commands < cli): every write a handler makes goes through ``engine.ops``; a handler
parses its arguments, calls the operation and prints the result. Each module has a
``register(subparsers)`` function that ``engine.cli`` calls.
"""
