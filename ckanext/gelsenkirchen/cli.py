"""``ckan gelsenkirchen ...`` commands (collected by ``toolkit.blanket.cli``)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["gelsenkirchen"]


@click.group(short_help="Gelsenkirchen portal commands.")
def gelsenkirchen() -> None:
    """Commands of the ckanext-gelsenkirchen extension."""


@gelsenkirchen.command(short_help="Check database, DataStore, Redis, search, plugins, harvesting.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check that this CKAN installation is complete and healthy.

    Prints one line per check and exits with status 1 when any check fails.
    What the checks mean and how to fix them: docs/doctor.md.
    """
    from ckanext.gelsenkirchen import doctor as checks

    _report(ctx, checks.run_all(), "checks", as_json)


def _report(ctx: click.Context, results: Sequence[Any], key: str, as_json: bool) -> None:
    """Print one line per result (or JSON) and exit 1 unless all are ok."""
    ok = all(result.ok for result in results)
    if as_json:
        click.echo(json.dumps({"ok": ok, key: [r.as_dict() for r in results]},
                              indent=2, ensure_ascii=False))
    else:
        for result in results:
            click.secho(result.line(), fg=None if result.ok else "red")
    ctx.exit(0 if ok else 1)


@gelsenkirchen.command("harvest-consumer",
                       short_help="Run a harvest gather or fetch consumer (Redis backend).")
@click.argument("stage", type=click.Choice(["gather", "fetch"]))
def harvest_consumer(stage: str) -> None:
    """Consume the harvest STAGE queue until stopped.

    Use this instead of `ckan harvester gather-consumer` / `fetch-consumer`
    with the Redis backend: those die after five idle seconds with redis-py 8
    (see ckanext/gelsenkirchen/harvest_consumers.py).
    """
    from ckanext.gelsenkirchen.harvest_consumers import run_consumer

    run_consumer(stage)


@gelsenkirchen.command(short_help="Check that every harvested dataset's parts agree.")
@click.argument("source", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def verify(ctx: click.Context, source: str | None, as_json: bool) -> None:
    """Compare, for every harvested dataset (or that of harvest SOURCE, a
    name or id), the DataStore rows, the derived fields, the GeoJSON/CSV
    files and the search index entry with the published harvest object.

    Prints one line per dataset and exits with status 1 when any disagrees
    (docs/operations.md says what to do).
    """
    from ckanext.gelsenkirchen import verify as checks

    findings = checks.run(source)
    if not findings and not as_json:
        click.echo("no harvest source of this extension's harvesters")
    _report(ctx, findings, "datasets", as_json)
@gelsenkirchen.command("harvest-preview",
                       short_help="Dry-run a harvest source: what a run would publish.")
@click.argument("source")
@click.option("--config", "config_text", help="A source configuration (JSON) to try instead "
              "of the source's own.")
@click.option("--json", "as_json", is_flag=True, help="Print the preview as JSON.")
@click.pass_context
def harvest_preview(ctx: click.Context, source: str, config_text: str | None,
                    as_json: bool) -> None:
    """Download and parse SOURCE (name or id) as a run would, and print what
    it would publish; writes nothing. Exit status 1 when the run would fail
    or the deletion guard would stop it (docs/harvesters.md, Preview)."""
    from ckanext.gelsenkirchen.harvesters import preview

    try:
        result = preview.preview_by_name(source, config_text)
    except ValueError as error:  # unknown source, or not one of these harvesters
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(result.text())
    ctx.exit(0 if result.error is None and not result.guard else 1)


@gelsenkirchen.command("harvest-alerts",
                       short_help="Alert failed, guard-stopped and stale harvest sources.")
@click.pass_context
def harvest_alerts(ctx: click.Context) -> None:
    """Check every harvest source of these harvesters and alert a source
    whose last run failed or was stopped by the deletion guard, or that has
    not completed a run for twice its frequency: one e-mail and webhook call
    per state (docs/operations.md, Alerts). Prints one line per source; exit
    status 1 when an alert could not be delivered (it is tried again at the
    next check)."""
    from ckanext.gelsenkirchen.harvesters import alerts

    if not alerts.enabled():
        click.echo(f"alerts are disabled ({alerts.ENABLED_OPTION} = false)")
        return
    findings = alerts.check_all()
    for finding in findings:
        click.secho(finding.line(), fg="red" if finding.error else None)
    if not findings:
        click.echo("no harvest source of this extension's harvesters")
    ctx.exit(1 if any(f.error for f in findings) else 0)
