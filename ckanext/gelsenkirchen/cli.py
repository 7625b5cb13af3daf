"""``ckan gelsenkirchen ...`` commands (collected by ``toolkit.blanket.cli``)."""
from __future__ import annotations

import click

__all__ = ["gelsenkirchen"]


@click.group(short_help="Gelsenkirchen portal commands.")
def gelsenkirchen() -> None:
    """Commands of the ckanext-gelsenkirchen extension."""
