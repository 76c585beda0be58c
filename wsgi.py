"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""

from casework import create_app

app = create_app()
