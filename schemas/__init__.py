"""The scheming YAML of the portal's dataset types (dataset, wifi-hotspots,
broadband-coverage) and their presets.

Kept at the top of the repository, shipped inside the wheel as the package
``ckanext.gelsenkirchen.schemas``; CKAN's configuration names the files as
``ckanext.gelsenkirchen.schemas:dataset.yaml``.
"""
