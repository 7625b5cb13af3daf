"""The main ``gelsenkirchen`` CKAN plugin.

Everything that can be wired by ``toolkit.blanket`` is: helpers from
``helpers.py``, CLI commands from ``cli.py``, config options from
``config_declaration.yaml``.
"""
from __future__ import annotations

import ckan.plugins as p
import ckan.plugins.toolkit as tk


@tk.blanket.cli
@tk.blanket.config_declarations
class GelsenkirchenPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)

    # IConfigurer
    def update_config(self, config_: tk.CKANConfig) -> None:
        tk.add_template_directory(config_, "templates")
