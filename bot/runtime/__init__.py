"""The processes and what they run: the web process, the worker, the jobs."""
