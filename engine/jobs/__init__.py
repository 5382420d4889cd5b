"""Jobs: progress, cancel, the persistent queue and the worker process."""
