"""A test-only harvester plugin (``gk_test_raising``) whose stages raise
what real sources have made harvesters raise: an OverflowError while
gathering (a city CSV with ``1e999`` access points), a programming error
while fetching, an IntegrityError while importing (two runs creating the
same dataset). The source URL's path names the stage that raises.

Registered only for the tests, by a ``*.dist-info`` directory on the
subprocesses' ``PYTHONPATH`` (see conftest.py); it ships with nothing.
"""
from __future__ import annotations

from typing import Any

import ckan.plugins as p
import sqlalchemy as sa
from ckanext.harvest.harvesters.base import HarvesterBase
from ckanext.harvest.interfaces import IHarvester


class RaisingHarvester(HarvesterBase):
    p.implements(IHarvester)

    def info(self) -> dict[str, str]:
        return {"name": "gk_test_raising", "title": "Raises (tests only)",
                "description": "Raises in the stage its source URL names."}

    def validate_config(self, config: str) -> str:
        return config

    def gather_stage(self, harvest_job: Any) -> list[str]:
        from ckanext.harvest.model import HarvestObject

        if harvest_job.source.url.endswith("/gather"):
            return [int(float("1e999"))]  # OverflowError, as the city CSV once did
        obj = HarvestObject(guid="raising", job=harvest_job, content="{}")
        obj.save()
        return [obj.id]

    def fetch_stage(self, harvest_object: Any) -> bool:
        if harvest_object.source.url.endswith("/fetch"):
            raise KeyError("a programming error in the fetch stage")
        return True

    def import_stage(self, harvest_object: Any) -> bool:
        if harvest_object.source.url.endswith("/import"):
            raise sa.exc.IntegrityError(
                "INSERT INTO package ...", {},
                Exception('duplicate key value violates unique constraint "package_pkey"'))
        return True
