"""assistance views (scaffold: being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("assistance", __name__, url_prefix="/assistance")
