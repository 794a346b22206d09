"""The task queue (Huey), thin tasks and periodic jobs."""
