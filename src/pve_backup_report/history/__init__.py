"""Run history in an embedded SQLite database (no server): trends, diffs, task-log cache."""
