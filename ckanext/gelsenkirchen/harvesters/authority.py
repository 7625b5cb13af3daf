"""What a harvest source may make its harvester write.

A harvest publishes as the site user (``ignore_auth``), on behalf of the
source's organization, whoever edits the source: organization editors and
admins may create and edit harvest sources (ckanext-harvest), so a source
configuration is untrusted input from them. The rule: **a source writes one
dataset, its own** (the id derived from the source's id,
:func:`.publishing.stable_ids`), in the source's organization, and sets on
it only fields an editor maintains in the dataset form. So:

* ``dataset_defaults`` may name only the editable fields of the harvester's
  dataset type (:func:`ckanext.gelsenkirchen.dataset_types.editable_fields`,
  from the scheming YAML): never identity (``id``, ``name``, ``type``),
  ownership and visibility (``owner_org``, ``private``), state or structure
  (``state``, ``groups``, ``resources``, ``extras``, ...). The configuration
  rules check it (:func:`.config.check_dataset_defaults`) when the source is
  saved, at every run and once more right before publishing.
* ``dataset_name`` may not be the name of a dataset or harvest source of
  another organization (:func:`check_targets`, which needs the database).

:func:`check_targets` runs when a harvest source of one of these harvesters
is saved (the chained ``package_create`` and ``package_update`` of
:func:`source_actions`, which every way of saving a source goes through:
the web form, ``harvest_source_create``/``_update``, ``package_patch``), and
again in the gather and import stages, so a configuration written before
this rule existed, or straight into the database, cannot escalate either.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ckan.types import Action, ChainedAction, Context, DataDict

from ckanext.gelsenkirchen.harvesters import publishing
from ckanext.gelsenkirchen.harvesters.config import ConfigError

if TYPE_CHECKING:
    from .base import SnapshotHarvester


def check_targets(cfg: dict[str, Any], source_id: str | None, owner_org: str | None) -> None:
    """ConfigError naming the key when ``cfg`` points the harvester of
    source ``source_id`` (None: not created yet) of organization
    ``owner_org`` at a dataset of another organization."""
    from ckan import model

    name = cfg.get("dataset_name")
    if not name:
        return
    taken = model.Package.get(name)
    if taken is None:
        return
    own = {source_id, publishing.stable_ids_of(source_id)["dataset"]} if source_id else set()
    if taken.id not in own and taken.owner_org != owner_org:
        raise ConfigError(f'"dataset_name": "{name}" is the name of a dataset of another '
                          "organization; a harvest source publishes its own dataset only, "
                          "choose another name")


def source_of(data_dict: DataDict) -> tuple[str | None, str | None]:
    """The id and the organization id of the harvest source ``data_dict``
    saves (the stored ones where the dict does not name them)."""
    from ckan import model

    existing = model.Package.get(data_dict["id"]) if data_dict.get("id") else None
    org_ref = data_dict.get("owner_org") or (existing.owner_org if existing else None)
    org = model.Group.get(org_ref) if org_ref else None
    return (existing.id if existing else data_dict.get("id")), (org.id if org else org_ref)


def source_actions(harvester: SnapshotHarvester) -> dict[str, ChainedAction]:
    """Chained ``package_create`` and ``package_update`` that refuse a
    harvest source of ``harvester``'s type whose configuration points at
    another organization's dataset (:func:`check_targets`), after the
    caller's permission to save it was checked."""
    import ckan.plugins.toolkit as tk

    def chained(action_name: str) -> ChainedAction:
        def action(original: Action, context: Context, data_dict: DataDict) -> Any:
            if data_dict.get("source_type") != harvester.info()["name"] \
                    or not data_dict.get("config"):
                return original(context, data_dict)
            # who may not save the source learns nothing about other datasets
            tk.check_access(action_name, Context(**context), data_dict)
            try:
                cfg = harvester.load_config(_text(data_dict["config"]))
            except ConfigError:
                return original(context, data_dict)  # the validator names the error
            try:
                check_targets(cfg, *source_of(data_dict))
            except ConfigError as error:
                raise tk.ValidationError(
                    {"config": [f"Error parsing the configuration options: {error}"]}) from None
            return original(context, data_dict)
        return tk.chained_action(action)

    return {name: chained(name) for name in ("package_create", "package_update")}


def _text(config: Any) -> str:
    return config if isinstance(config, str) else json.dumps(config)
