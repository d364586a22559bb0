"""`flask grievance ...` and `flask translate ...` commands."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from grievance import crypto
from grievance.extensions import commit, db

grievance_cli = AppGroup("grievance", help="Run and maintain the grievance system.")
translate_cli = AppGroup("translate", help="Extract, update and compile translations.")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@grievance_cli.command("init")
def init_command() -> None:
    """Create or upgrade the schema; load categories and other reference data."""
    from flask_migrate import upgrade

    from grievance.seed.taxonomy import load_taxonomy

    upgrade()
    load_taxonomy()
    commit()
    click.echo("schema is up to date; reference data loaded")


@grievance_cli.command("seed-demo")
def seed_demo_command() -> None:
    """Load partners, demo accounts and demo cases (idempotent)."""
    if not current_app.config.get("SEED_DEMO_ALLOWED"):
        _fail("seed-demo is refused under the production config")
    from grievance.seed.demo import seed_demo

    counts = seed_demo()
    commit()
    click.echo(
        f"partners: {counts['partners']}, demo accounts: {counts['accounts']}, "
        f"new demo cases: {counts['cases']}"
    )


@grievance_cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "caseworker", "advisor"]), required=True)
@click.option("--partner", "partner_code", help="Partner code (advisors only).")
def create_user_command(email: str, role: str, partner_code: str | None) -> None:
    """Create a staff account; prints a one-time password and the TOTP secret."""
    from grievance.cases.models import Partner
    from grievance.staff import services

    partner_id = None
    if partner_code:
        partner_id = db.session.scalar(select(Partner.id).where(Partner.code == partner_code))
        if partner_id is None:
            _fail(f"no partner with code {partner_code}")
    try:
        account = services.create_user(email, role, partner_id)
    except services.StaffError as exc:
        _fail(str(exc))
        return
    commit()
    click.echo(f"email: {account.user.email}")
    click.echo(f"password: {account.password}")
    click.echo(f"totp-secret: {account.totp_secret}")


@grievance_cli.command("demo-code")
@click.argument("email")
def demo_code_command(email: str) -> None:
    """Print the current login code of a demo account (embedded default only)."""
    from grievance.staff import services

    if not current_app.config.get("ALLOW_DEMO_CODES"):
        _fail("demo codes are refused under this configuration")
    user = services.find_by_email(email)
    if user is None or not user.is_demo:
        _fail("demo codes exist only for demo accounts")
        return
    click.echo(services.current_code(user))


@grievance_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker (with the scheduler) for the outbox and other jobs."""
    from grievance.notify.worker import run_worker

    if not current_app.config.get("REDIS_URL"):
        _fail("REDIS_URL is not set; the embedded default runs jobs in-process")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not burst and app.config.get("RETENTION_PURGE_DAILY", True):
        # The daily retention purge runs beside the worker; a Redis key per
        # day lets only one of many workers do it.
        from grievance.cases.retention import start_daily_purge

        start_daily_purge(app)
    run_worker(app, burst=burst)


@grievance_cli.command("outbox-requeue")
def outbox_requeue_command() -> None:
    """Re-enqueue outbox messages left pending (Redis was down, a worker died)."""
    from grievance.notify.jobs import requeue_stale

    count = requeue_stale()
    click.echo(f"re-enqueued: {count}")


@grievance_cli.command("verify-audit")
def verify_audit_command() -> None:
    """Check the hash chain of the audit trail; exit 1 at the first break."""
    from grievance.cases.audit import verify_chain

    report = verify_chain()
    if report.ok:
        click.echo(f"audit chain intact: {report.events} events")
        return
    _fail(f"audit chain broken at event {report.first_bad_seq}: {report.reason}")


@grievance_cli.command("tick")
def tick_command() -> None:
    """Run the periodic work once: reminders, outbox sweep and other tasks.

    `make run` calls it every minute; under the production config the RQ
    worker runs the same tasks itself.
    """
    from grievance.notify.jobs import run_periodic

    done = run_periodic()
    click.echo(", ".join(f"{name}: {count}" for name, count in done.items()))


@grievance_cli.command("seed-bulk")
@click.option("--cases", "count", type=click.IntRange(1, 10_000_000), required=True)
@click.option("--batch-size", default=5000, show_default=True)
@click.option("--seed", type=int, default=None, help="Random seed, for a repeatable data set.")
def seed_bulk_command(count: int, batch_size: int, seed: int | None) -> None:
    """Add N synthetic cases (sealed narratives) for benchmarks."""
    if not current_app.config.get("SEED_DEMO_ALLOWED"):
        _fail("seed-bulk is refused under the production config")
    from grievance.seed.bulk import seed_bulk

    with click.progressbar(length=count, label="synthetic cases") as bar:
        made = seed_bulk(count, batch_size=batch_size, seed=seed, progress=bar.update)
    click.echo(f"synthetic cases added: {made}")


@grievance_cli.command("purge-expired")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@click.option("--batch-size", default=200, show_default=True)
def purge_expired_command(dry_run: bool, batch_size: int) -> None:
    """Purge cases closed longer ago than the retention period.

    Destroys their data keys and deletes their rows; anonymous counts stay
    for the reports. Each batch commits, so an interrupted purge resumes.
    """
    from grievance.cases import retention

    plan = retention.plan_purge()
    click.echo(
        f"retention: {plan.retention_days} days; "
        f"cases closed before {plan.cutoff:%Y-%m-%d %H:%M} UTC: {plan.count}"
    )
    if dry_run:
        click.echo("dry run: nothing was purged")
        return
    with click.progressbar(length=plan.count, label="purging expired cases") as bar:
        done = retention.purge_expired(batch_size=batch_size, progress=bar.update)
    click.echo(f"purged: {done}")


@grievance_cli.command("rotate-keys")
@click.option("--resume", is_flag=True, help="Only re-wrap; do not add a new key.")
@click.option("--retire", "retire", metavar="KEY_ID", help="Remove an old key once unused.")
@click.option("--batch-size", default=500, show_default=True)
def rotate_keys_command(resume: bool, retire: str | None, batch_size: int) -> None:
    """Add a key-encryption key and re-wrap every data key under it.

    Safe to interrupt and run again with --resume; the service keeps running
    because old keys stay loaded until retired.
    """
    from grievance import keyrotation

    ring = crypto.current_ring()
    if retire:
        try:
            checked = keyrotation.retire(ring, retire)
        except keyrotation.RotationError as exc:
            _fail(str(exc))
            return
        click.echo(f"verified: {checked} data keys unwrap without {retire}")
        click.echo(f"retired key {retire}")
        return
    if not resume:
        try:
            kid = keyrotation.add_key(ring)
        except keyrotation.RotationError as exc:
            _fail(str(exc))
            return
        click.echo(f"new active key: {kid}")
    total = keyrotation.count_to_rewrap(ring)
    with click.progressbar(length=total, label="re-wrapping data keys") as bar:
        done = keyrotation.rewrap_all(ring, batch_size, progress=bar.update)
    click.echo(f"re-wrapped: {done}; every data key is under {ring.active}")


@translate_cli.command("extract")
def translate_extract() -> None:
    """Extract messages into translations/<domain>.pot."""
    from grievance import catalogs

    for domain in catalogs.DOMAINS:
        catalogs.extract(domain)
        click.echo(f"extracted {domain}.pot")


@translate_cli.command("update")
def translate_update() -> None:
    """Merge the .pot files into every language's .po files."""
    from grievance import catalogs

    for domain in catalogs.DOMAINS:
        for code in catalogs.update(domain):
            click.echo(f"updated {code}/{domain}.po")


@translate_cli.command("compile")
def translate_compile() -> None:
    """Compile every .po file to .mo (the Makefile runs this)."""
    from grievance import catalogs

    count = catalogs.compile_all()
    click.echo(f"compiled {count} catalogs")


def init_app(app: Flask) -> None:
    app.cli.add_command(grievance_cli)
    app.cli.add_command(translate_cli)
