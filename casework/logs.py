"""Structured (JSON) logs that never carry victim data.

Only the method, the URL rule (the route pattern, not the filled-in URL), the status, the
user id and timing are logged: never form data, query strings or case content.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid

from flask import Flask, Response, g, request


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "rule", "status", "user_id", "duration_ms"):
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and where it happened; never the message (it may hold values).
            payload["exception"] = record.exc_info[0].__name__
        return json.dumps(payload)


def configure(app: Flask) -> None:
    logger = logging.getLogger("casework")
    if not any(getattr(h, "_casework", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._casework = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    # Werkzeug's access log prints full URLs with query strings: keep it quiet.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    request_log = logging.getLogger("casework.request")

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()
        g.request_id = uuid.uuid4().hex[:16]

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None and request.endpoint != "static":
            from flask_login import current_user
            from sqlalchemy.exc import SQLAlchemyError

            try:
                user_id = str(current_user.id) if current_user.is_authenticated else None
            except SQLAlchemyError:  # the database went away during the request
                user_id = None
            request_log.info(
                "request",
                extra={
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "rule": request.url_rule.rule if request.url_rule else None,
                    "status": response.status_code,
                    "user_id": user_id,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return response
