"""Assessments: needs and vulnerability, risk and safety (with a safety plan), screening."""
