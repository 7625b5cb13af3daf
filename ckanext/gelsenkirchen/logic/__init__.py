"""Logic (controlled vocabularies, validators, search index fields) of ckanext-gelsenkirchen."""
