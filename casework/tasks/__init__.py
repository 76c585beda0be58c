"""Tasks and deadlines: typed tasks, deadlines derived from recorded dates, the work list."""
