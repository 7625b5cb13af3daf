"""The doctor's check of ``ckan.plugins``: the order this extension needs."""
from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable

from ckanext.gelsenkirchen.doctor.common import CheckResult, _plugins

# The plugin line the README recommends. The harvester plugins of this
# extension go right after ``gelsenkirchen``; they are listed when their
# entry points are installed (a checkout without the package metadata, e.g.
# an uninstalled source tree, lacks them).
_BASE_PLUGINS = (
    "gelsenkirchen scheming_datasets spatial_metadata spatial_query harvest dcat "
    "datastore datatables_view activity"
)
_OWN_HARVESTERS = ("gelsenkirchen_wifi_harvester", "gelsenkirchen_broadband_harvester")


def _installed_plugins() -> set[str]:
    return {ep.name for ep in importlib.metadata.entry_points(group="ckan.plugins")}


def _recommended_plugins() -> str:
    installed = _installed_plugins()
    names = _BASE_PLUGINS.split()
    harvesters = [name for name in _OWN_HARVESTERS if name in installed]
    return " ".join(names[:1] + harvesters + names[1:])


RECOMMENDED_PLUGINS: str = _recommended_plugins()

# Plugins whose templates and hooks ``gelsenkirchen`` must override, i.e. that
# must come after it in ckan.plugins.
MUST_FOLLOW_GELSENKIRCHEN = ("scheming_datasets", "spatial_metadata", "spatial_query",
                             "harvest", "dcat")

# --------------------------------------------------------------------------- plugin order


def check_plugin_order(plugins: Iterable[str] | str | None = None) -> CheckResult:
    """``gelsenkirchen`` precedes the plugins it overrides; harvesters have ``harvest``."""
    name = "plugin order"
    enabled = _plugins(plugins)
    position = {plugin: index for index, plugin in reversed(list(enumerate(enabled)))}
    problems = []
    if "gelsenkirchen" not in position:
        problems.append("gelsenkirchen is not in ckan.plugins")
    else:
        late = [plugin for plugin in MUST_FOLLOW_GELSENKIRCHEN
                if plugin in position and position[plugin] < position["gelsenkirchen"]]
        if late:
            one = len(late) == 1
            problems.append(f"{', '.join(late)} come{'s' if one else ''} before gelsenkirchen, "
                            f"so {'its' if one else 'their'} templates and hooks win over "
                            "gelsenkirchen's")
    if ("spatial_metadata" in position and "spatial_query" in position
            and position["spatial_query"] < position["spatial_metadata"]):
        problems.append("spatial_query comes before spatial_metadata")
    orphans = [plugin for plugin in enabled if plugin.endswith("_harvester")]
    if orphans and "harvest" not in position:
        problems.append(f"{', '.join(orphans)} need{'s' if len(orphans) == 1 else ''} the "
                        "harvest plugin, which is not enabled")
    if problems:
        return CheckResult(name, False, "; ".join(problems),
                           f"use ckan.plugins = {RECOMMENDED_PLUGINS} (then any other plugins)")
    return CheckResult(name, True, f"ckan.plugins = {' '.join(enabled)}")
