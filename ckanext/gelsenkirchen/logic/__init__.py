"""Logic (controlled vocabularies, areas, validators) of ckanext-gelsenkirchen."""
