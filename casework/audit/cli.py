"""``flask --app wsgi audit ...``: verify the log, prove an event's inclusion, run the sequencer."""

from __future__ import annotations

import hmac
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from casework.audit.verify import BATCH_SIZE, verify_current_chain


@click.group("audit", help="The tamper-evident audit log.")
def audit_cli() -> None:
    pass


@audit_cli.command("verify")
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def verify_command(batch_size: int) -> None:
    """Check every event's MAC, the tree against every stored and anchored checkpoint and the
    old chain; exit 1 at the first problem."""
    report = verify_current_chain(batch_size)
    if report.ok:
        click.echo(report.describe())
        return
    click.echo(report.describe(), err=True)
    sys.exit(1)


@audit_cli.command("prove")
@click.argument("event_id", type=int)
@with_appcontext
def prove_command(event_id: int) -> None:
    """Prove that event EVENT_ID is in the log: its MAC, and its audit path checked against the
    root of the newest checkpoint (the newest anchored one when the anchor has it); exit 1 if not."""
    from casework.audit.merkle import audit_path, leaf_hash, verify_inclusion
    from casework.audit.models import AuditEvent
    from casework.audit.sequencer import Checkpoint, latest_checkpoint, leaf_data, read_anchor
    from casework.audit.writer import compute_mac
    from casework.crypto import get_keyring
    from casework.db import session

    key = get_keyring().audit_key
    event = session.get(AuditEvent, event_id)
    if event is None:
        raise click.ClickException(f"no audit event {event_id}")
    if not hmac.compare_digest(event.mac, compute_mac(event, key)):
        raise click.ClickException(f"event {event_id}: its content does not match its MAC")
    if event.leaf_index is None:
        raise click.ClickException(f"event {event_id} is not in the tree yet (integrated within seconds): try again")
    stored = latest_checkpoint(session)
    if stored is None:
        raise click.ClickException("no checkpoint: run `flask audit verify`")
    checkpoint = Checkpoint.of_row(stored)
    anchored = [cp for _, cp in read_anchor(current_app.config["CASEWORK"].audit_anchor_path) if cp is not None]
    newest = checkpoint.tree_size
    anchored = [cp for cp in anchored if cp.signature_ok(key) and event.leaf_index < cp.tree_size <= newest]
    if anchored:
        checkpoint = max(anchored, key=lambda cp: cp.tree_size)
    if not checkpoint.signature_ok(key):
        raise click.ClickException("the checkpoint's signature does not verify")
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.mac, AuditEvent.leaf_index)
        .where(AuditEvent.leaf_index < checkpoint.tree_size)
        .order_by(AuditEvent.leaf_index)
    ).all()
    if [row.leaf_index for row in rows] != list(range(checkpoint.tree_size)):
        raise click.ClickException("the tree lacks leaves: run `flask audit verify`")
    leaves = [leaf_hash(leaf_data(row.id, row.mac)) for row in rows]
    leaf = leaf_hash(leaf_data(event.id, event.mac))
    path = audit_path(event.leaf_index, leaves)
    if not verify_inclusion(event.leaf_index, checkpoint.tree_size, leaf, path, bytes.fromhex(checkpoint.root_hash)):
        click.echo(f"event {event_id} is NOT included in the tree of checkpoint {checkpoint.tree_size}", err=True)
        sys.exit(1)
    click.echo(f"event {event_id}: leaf {event.leaf_index} of {checkpoint.tree_size}")
    click.echo(f"checkpoint root {checkpoint.root_hash} signed {checkpoint.signed_at.isoformat()}")
    for number, sibling in enumerate(path):
        click.echo(f"  path[{number}] {sibling.hex()}")
    click.echo("inclusion proved")


@audit_cli.command("integrate")
@with_appcontext
def integrate_command() -> None:
    """Integrate every event waiting into the tree now, and anchor the checkpoints."""
    from casework.audit.sequencer import LogInconsistent, integrate_pending

    total = 0
    try:
        while (checkpoint := integrate_pending()) is not None:
            total = checkpoint.tree_size
    except LogInconsistent as exc:
        raise click.ClickException(f"not integrated: {exc}; run `flask audit verify`") from None
    click.echo(f"tree size {total}" if total else "nothing to integrate")


@audit_cli.command("sequencer")
@with_appcontext
def sequencer_command() -> None:
    """Run a sequencer in the foreground until interrupted (it integrates while it holds the
    deployment's lease; the app processes' own sequencer threads stand by meanwhile)."""
    from casework.audit.sequencer import Sequencer

    cfg = current_app.config["CASEWORK"]
    sequencer = Sequencer(current_app._get_current_object(), cfg.audit_sequencer_interval, cfg.node_name)  # type: ignore[attr-defined]
    click.echo(f"audit sequencer {sequencer.holder} running (Ctrl-C stops it)")
    try:
        while True:
            sequencer.step()
            time.sleep(cfg.audit_sequencer_interval)
    except KeyboardInterrupt:
        pass
    finally:
        sequencer.stop()
