"""Paging a source through a stub server: each URL answered by a function."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ckanext.gelsenkirchen.harvesters.http import Response
from ckanext.gelsenkirchen.harvesters.source import paging


def pages_of(fmt: str, url: str, answer: Callable[[str], Any],
             opts: paging.PagingOptions) -> tuple[list[dict], list[str]]:
    """The decoded pages of ``url`` and the URLs asked for, each page
    answered with the JSON document ``answer(url)``."""
    calls: list[str] = []

    def fetch(page_url: str) -> Response:
        calls.append(page_url)
        return Response(url=page_url, status=200, headers={},
                        body=json.dumps(answer(page_url)).encode())

    return [page.doc for page in paging.fetch_pages(fmt, url, fetch, opts)], calls
