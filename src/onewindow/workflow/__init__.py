"""Workflow: working-day calendar now; the engine, instances and work items arrive with issue 5."""
