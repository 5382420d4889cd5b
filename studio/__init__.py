"""Storyreel's desktop studio (PySide6). A client of the engine; holds no data of its own."""
