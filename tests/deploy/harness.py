"""A real deployment on this machine, made from the shipped files the way the README says.

- PostgreSQL: a database of its own (``deploy_<random>``) on the test server.
- Two application hosts: each its own environment file (deploy/casework.env with the
  deployment's values filled in), its own copy of the keyring, and the command of
  deploy/systemd/casework.service's ``ExecStart`` (scripts/serve: gunicorn, several workers),
  run with the environment systemd would give it.
- nginx (Debian's) with deploy/nginx/casework.conf, its names, ports, certificate (a throwaway
  self-signed one, from openssl) and log paths replaced, as an unprivileged instance with its own
  prefix (``nginx -p DIR -c FILE``): /etc/nginx is never touched.

Nothing here imports the application: everything goes through the scripts, HTTP and SQL.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx" / "casework.conf"
UNIT = DEPLOY / "systemd" / "casework.service"
PURGE_UNIT = DEPLOY / "systemd" / "casework-purge.service"
ENV_TEMPLATE = DEPLOY / "casework.env"
# What systemd gives a service besides its EnvironmentFile (PATH, a UTF-8 locale, the home).
SYSTEMD_ENVIRONMENT = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
}
START_TIMEOUT = 90.0
# The deployment's name: nginx answers only for it (by TLS SNI and Host); it resolves to 127.0.0.1
# (chromium: --host-resolver-rules; Client: connects to the address and sends the name).
SERVER_NAME = "casework.test"


# -- the shipped files ------------------------------------------------------------------------------
def read_environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, blank lines, quotes)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), f"not KEY=VALUE: {raw!r}"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def render_environment(values: Mapping[str, str]) -> str:
    """The env template with the deployment's own values: every variable set must already be in
    the template (so the template lists everything a host needs), the others kept as shipped."""
    text = ENV_TEMPLATE.read_text()
    for key, value in values.items():
        text, count = re.subn(rf"^{key}=.*$", f"{key}={value}", text, flags=re.MULTILINE)
        assert count == 1, f"{key} is not in deploy/casework.env"
    return text


def unit_setting(path: Path, key: str) -> str:
    """One setting of a systemd unit's [Service] section (the last one wins, as in systemd)."""
    found = None
    section = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line.startswith(f"{key}="):
            found = line.split("=", 1)[1]
    assert found is not None, f"{path.name} has no {key}="
    return found


def unit_command(path: Path) -> list[str]:
    """The unit's ExecStart, with the install path /srv/casework being this checkout."""
    command = unit_setting(path, "ExecStart").split()
    working = unit_setting(path, "WorkingDirectory")
    assert working == "/srv/casework"
    return [part.replace("/srv/casework", str(ROOT)) for part in command]


def _replace(text: str, pattern: str, replacement: str, expected: int | None = None) -> str:
    text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count and (expected is None or count == expected), f"{pattern!r} matched {count} times in the site file"
    return text


def render_site(
    *,
    server_name: str,
    https_port: int,
    http_port: int,
    certificate: Path,
    key: Path,
    log_dir: Path,
    upstreams: list[tuple[int, bool]],
) -> str:
    """deploy/nginx/casework.conf for this machine: loopback ports instead of 80/443 (no IPv6),
    the test certificate, logs under the test directory, one upstream line per host (down or
    not). Everything else (headers, limits, timeouts, log format, locations) is as shipped."""
    text = SITE.read_text()
    text = _replace(text, r"casework\.example\.org", server_name)
    text = _replace(text, r"^\s*listen \[::\]:\d+.*\n", "")
    text = _replace(text, r"listen 443\b", f"listen 127.0.0.1:{https_port}")
    text = _replace(text, r"listen 80\b", f"listen 127.0.0.1:{http_port}")
    text = _replace(text, r"ssl_certificate\s+\S+;", f"ssl_certificate {certificate};", 1)
    text = _replace(text, r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", 1)
    text = _replace(text, r"/var/log/nginx/", f"{log_dir}/")
    match = re.search(r"^(\s*)server 127\.0\.0\.1:8000( [^;]*)?;\n", text, flags=re.MULTILINE)
    assert match, "the upstream block has no `server 127.0.0.1:8000 ...;` line"
    indent, params = match.group(1), match.group(2) or ""
    lines = "".join(f"{indent}server 127.0.0.1:{port}{params}{' down' if down else ''};\n" for port, down in upstreams)
    return text[: match.start()] + lines + text[match.end() :]


def nginx_main_config(prefix: Path, site: Path) -> str:
    """The http{} frame Debian's /etc/nginx/nginx.conf gives a site, with every path under
    ``prefix`` (no file of the system's nginx is read or written)."""
    user = ""
    if os.geteuid() == 0:  # workers would otherwise run as nobody, who cannot enter the test directory
        user = "user root root;\n"
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/temp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{
    worker_connections 512;
}}
http {{
    sendfile on;
    types_hash_max_size 2048;
    default_type application/octet-stream;
{temp}
    access_log {prefix}/logs/default-access.log;
    include {site};
}}
"""


def self_signed_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    certificate, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            shutil.which("openssl") or "/usr/bin/openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return certificate, key


# -- ports, processes, logs -----------------------------------------------------------------------
def free_port() -> int:
    """A free port above 18000 on 127.0.0.1 (other engineers' servers use the common ones)."""
    for _ in range(200):
        port = random.randint(18000, 29999)  # noqa: S311 - not security
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 45.0) -> None:
    """SIGTERM the process group (gunicorn finishes requests in flight), SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class Host:
    """One application host: its directory stands for /etc/casework on that machine."""

    name: str
    directory: Path
    port: int
    database_url: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def env_file(self) -> Path:
        return self.directory / "env"

    @property
    def keyring(self) -> Path:
        return self.directory / "keyring.json"

    @property
    def log(self) -> Path:
        return self.directory / "serve.log"

    def environment(self) -> dict[str, str]:
        runtime = self.directory / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        return {
            **SYSTEMD_ENVIRONMENT,
            "HOME": str(self.directory),
            "RUNTIME_DIRECTORY": str(runtime),
            **read_environment_file(self.env_file),
        }

    def start(self) -> None:
        """Run the unit's ExecStart in its WorkingDirectory with its EnvironmentFile."""
        assert self.process is None or self.process.poll() is not None
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - the unit's own command
                unit_command(UNIT), cwd=ROOT, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_until_serving(self, timeout: float = START_TIMEOUT) -> None:
        def serving() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{tail(self.log)}")
            try:
                return plain_get(self.port, "/health")[0] == 200
            except OSError:
                return False

        wait_for(serving, timeout, f"{self.name} to serve /health")

    def stop(self) -> None:
        stop_process(self.process)

    def served(self, path: str, method: str = "GET") -> int:
        """How many requests for ``path`` this host answered (gunicorn's access log lines)."""
        count = 0
        for line in self.log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("path") == path and entry.get("method") == method:
                count += 1
        return count


def plain_get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- an HTTPS client that is not a browser ------------------------------------------------------------
@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class _NamedTLSConnection(http.client.HTTPSConnection):
    """TLS to 127.0.0.1 for a name (SNI), as if the name resolved there."""

    def __init__(self, name: str, port: int, context: ssl.SSLContext, source_address: tuple[str, int]) -> None:
        super().__init__("127.0.0.1", port, context=context, timeout=30, source_address=source_address)
        self._name = name
        self._tls = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self._name)


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@dataclass
class Client:
    """HTTPS through nginx from a chosen loopback source address (127.0.0.2, ...), with cookies,
    without following redirects. Posts carry the page's CSRF token and a same-origin Referer,
    as a browser with the referrer policy same-origin does."""

    port: int
    source: str = "127.0.0.1"
    host: str = SERVER_NAME
    tls: bool = True  # False: plain HTTP straight to a host's gunicorn, as nginx talks to it
    cookies: dict[str, str] = field(default_factory=dict)
    csrf_token: str | None = None

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] = ()) -> Answer:
        connection: http.client.HTTPConnection
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
            connection = _NamedTLSConnection(self.host, self.port, context, source_address=(self.source, 0))
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(self.source, 0))
        sent = {"Host": f"{self.host}:{self.port}", **dict(headers)}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            connection.close()
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=thu, 01 jan 1970" in cookie.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        match = CSRF.search(answer.text) if "html" in answer.headers.get("Content-Type", "") else None
        if match:
            self.csrf_token = match.group(1) or match.group(2)
        return answer

    def get(self, path: str, headers: Mapping[str, str] = ()) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(
        self, path: str, fields: Mapping[str, Any], headers: Mapping[str, str] = (), referer: str | None = None
    ) -> Answer:
        """Post ``fields`` (a value or a list of values each) with the last page's CSRF token."""
        data = {"csrf_token": self.csrf_token or "", **fields}
        sent = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": self.origin + (referer or path),
            **dict(headers),
        }
        return self.request("POST", path, body=urlencode(data, doseq=True).encode(), headers=sent)


# -- the deployment ---------------------------------------------------------------------------------
@dataclass
class Deployment:
    directory: Path
    server_url: str  # the PostgreSQL server (its postgres database), for the test's own SQL
    database: str
    hosts: list[Host]
    https_port: int = 0
    http_port: int = 0
    nginx: subprocess.Popen[bytes] | None = None
    drained: set[str] = field(default_factory=set)
    #: (step, seconds) of the set-up, printed with the test's output
    timings: list[tuple[str, float]] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.timings.append((name, time.monotonic() - started))

    @property
    def database_url(self) -> str:
        return database_url(self.server_url, self.database)

    @property
    def base_url(self) -> str:
        return f"https://{SERVER_NAME}:{self.https_port}"

    @property
    def nginx_prefix(self) -> Path:
        return self.directory / "nginx"

    @property
    def nginx_conf(self) -> Path:
        return self.nginx_prefix / "nginx.conf"

    @property
    def site_conf(self) -> Path:
        return self.nginx_prefix / "casework.conf"

    @property
    def access_log(self) -> Path:
        return self.nginx_prefix / "logs" / "casework.access.log"

    def host(self, name: str) -> Host:
        return next(h for h in self.hosts if h.name == name)

    def client(self, source: str = "127.0.0.1") -> Client:
        return Client(self.https_port, source=source)

    # -- commands, as an operator runs them on a host
    def manage(
        self, host: Host, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S603 - our own script
            [str(ROOT / "scripts" / "manage"), "--env", str(host.env_file), *args],
            cwd=ROOT,
            env={**SYSTEMD_ENVIRONMENT, "HOME": str(host.directory)},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"scripts/manage {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def script(
        self, name: str, *args: str, host: Host | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run scripts/<name> as the README says (with the host's env file when given)."""
        command = [str(ROOT / "scripts" / name)]
        if host is not None:
            command += ["--env", str(host.env_file)]
        result = subprocess.run(  # noqa: S603 - our own script
            [*command, *args],
            cwd=ROOT,
            env={**SYSTEMD_ENVIRONMENT, "HOME": str(self.directory)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"scripts/{name} {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    # -- SQL, for what the test checks behind the application's back
    def sql(
        self, statement: str, params: Mapping[str, Any] | None = None, database: str | None = None
    ) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(
            _psycopg_url(database_url(self.server_url, database or self.database)), autocommit=True
        ) as connection:
            cursor = connection.execute(statement, params or {})
            return list(cursor.fetchall()) if cursor.description else []

    def admin_sql(self, statement: str, params: Mapping[str, Any] | None = None) -> None:
        """SQL on the server's postgres database (CREATE/ALTER/DROP DATABASE, pg_terminate_backend)."""
        import psycopg

        with psycopg.connect(_psycopg_url(self.server_url), autocommit=True) as connection:
            connection.execute("SET default_transaction_read_only = off")
            connection.execute(statement, params or {})

    # -- nginx
    def write_site(self) -> None:
        certificate, key = self.nginx_prefix / "fullchain.pem", self.nginx_prefix / "privkey.pem"
        self.site_conf.write_text(
            render_site(
                server_name=SERVER_NAME,
                https_port=self.https_port,
                http_port=self.http_port,
                certificate=certificate,
                key=key,
                log_dir=self.nginx_prefix / "logs",
                upstreams=[(h.port, h.name in self.drained) for h in self.hosts],
            )
        )

    def nginx_command(self, *args: str) -> list[str]:
        return [nginx_binary(), "-p", str(self.nginx_prefix), "-c", str(self.nginx_conf), *args]

    def check_nginx(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.nginx_command("-t"), capture_output=True, text=True, check=False)  # noqa: S603

    def start_nginx(self) -> None:
        prefix = self.nginx_prefix
        for sub in ("logs", "temp"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        self_signed_certificate(prefix, SERVER_NAME)
        self.write_site()
        self.nginx_conf.write_text(nginx_main_config(prefix, self.site_conf))
        checked = self.check_nginx()
        assert checked.returncode == 0, f"nginx -t failed:\n{checked.stderr}"
        self.nginx = subprocess.Popen(  # noqa: S603
            self.nginx_command("-g", "daemon off;"),
            stdout=subprocess.DEVNULL,
            stderr=open(prefix / "logs" / "stderr.log", "ab"),  # noqa: SIM115 - lives as long as nginx
            start_new_session=True,
        )

        def listening() -> bool:
            if self.nginx is not None and self.nginx.poll() is not None:
                raise AssertionError(f"nginx exited:\n{tail(prefix / 'logs' / 'error.log')}")
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", self.https_port)) == 0

        wait_for(listening, 20, "nginx to listen")

    def _nginx_workers(self) -> set[int]:
        assert self.nginx is not None
        children = Path(f"/proc/{self.nginx.pid}/task/{self.nginx.pid}/children")
        return {int(pid) for pid in children.read_text().split()} if children.exists() else set()

    def reload_nginx(self) -> None:
        """`nginx -s reload`, then wait until only workers with the new configuration are left."""
        before = self._nginx_workers()
        checked = self.check_nginx()
        assert checked.returncode == 0, f"nginx -t failed:\n{checked.stderr}"
        subprocess.run(self.nginx_command("-s", "reload"), check=True, capture_output=True)  # noqa: S603
        wait_for(lambda: self._nginx_workers() and not (self._nginx_workers() & before), 20, "nginx to reload")

    def drain(self, *names: str) -> None:
        """Take hosts out of nginx's upstream (their line marked `down`), as an operator would."""
        self.drained = set(names)
        self.write_site()
        self.reload_nginx()

    def stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.nginx.pid, signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.nginx.pid, signal.SIGKILL)
                self.nginx.wait(timeout=5)
        for host in self.hosts:
            host.stop()


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def database_url(server_url: str, database: str) -> str:
    base = server_url.rsplit("/", 1)[0]
    return f"{base}/{database}"


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def new_secret() -> str:
    return secrets.token_urlsafe(48)


@contextlib.contextmanager
def deployment_of_two_hosts(directory: Path, server_url: str) -> Iterator[Deployment]:
    """The README's deployment section, step by step, for two hosts sharing one database."""
    database = f"deploy_{secrets.token_hex(4)}"
    hosts = [
        Host(name, directory / name, free_port(), database_url(server_url, database)) for name in ("host1", "host2")
    ]
    deployment = Deployment(directory, database_url(server_url, "postgres"), database, hosts)
    deployment.https_port, deployment.http_port = free_port(), free_port()
    deployment.admin_sql(f'CREATE DATABASE "{database}"')
    try:
        # 1. Install (scripts/install; a no-op here when .venv is complete, as on a second run).
        with deployment.step("scripts/install"):
            deployment.script("install")
        # 2. The keyring: created once, then a copy on each host.
        with deployment.step("keyring"):
            for host in hosts:
                host.directory.mkdir(mode=0o700, parents=True)
            created = subprocess.run(  # noqa: S603
                [str(ROOT / ".venv" / "bin" / "python"), "-m", "casework.crypto", "init", str(hosts[0].keyring)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            assert created.returncode == 0, created.stderr
            for host in hosts[1:]:
                shutil.copyfile(hosts[0].keyring, host.keyring)
                host.keyring.chmod(0o600)
        # 3. The environment file of each host, from the template.
        secret = new_secret()
        for host in hosts:
            host.env_file.write_text(
                render_environment(
                    {
                        "CASEWORK_DATABASE_URL": host.database_url,
                        "CASEWORK_SECRET_KEY": secret,
                        "CASEWORK_KEYRING": str(host.keyring),
                        "CASEWORK_AUDIT_ANCHOR": str(host.directory / "audit-anchor.log"),
                        "CASEWORK_BIND": f"127.0.0.1:{host.port}",
                    }
                )
            )
            host.env_file.chmod(0o600)
        # 4. The schema, from one host.
        with deployment.step("scripts/manage db upgrade"):
            deployment.manage(hosts[0], "db", "upgrade")
        # 5. Start the service on every host, then nginx in front.
        with deployment.step("hosts start (scripts/serve) until /health answers"):
            for host in hosts:
                host.start()
            for host in hosts:
                host.wait_until_serving()
        with deployment.step("nginx -t and start"):
            deployment.start_nginx()
        yield deployment
    finally:
        deployment.stop()
        with contextlib.suppress(Exception):
            deployment.admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
