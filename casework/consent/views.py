"""consent views (scaffold: being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("consent", __name__, url_prefix="/consent")
