"""gunicorn.conf.py's master hook: every template compiled before the workers are forked."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_the_master_compiles_every_template_before_forking(app, client, org, caseworker, login, make_case, monkeypatch):
    """A fresh worker's threads each compiled the case file's templates on their first request
    (a tenth of a 20-second load phase's CPU); compiled in the master, forks share them."""
    server = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app), log=logging.getLogger("test-gunicorn"))
    _conf().when_ready(server)
    assert len(app.jinja_env.cache) == len(app.jinja_env.list_templates())

    def no_compiling(*_args, **_kwargs):
        pytest.fail("a template was compiled while serving")

    monkeypatch.setattr(app.jinja_env, "compile", no_compiling)
    case = make_case(org, assigned_to=caseworker)
    login(client, caseworker)
    for path in ("/home", "/cases/", f"/cases/{case.id}", f"/cases/{case.id}?tab=notes", f"/cases/{case.id}/edit"):
        assert client.get(path).status_code == 200, path
