"""The pages of make bench-load's request mix and their weights (shared by
bench/locustfile.py and the report of bench/load.py, which must not import
locust: importing it patches the standard library for gevent)."""
WEIGHTS = {"home": 3, "search": 3, "dataset": 2, "wifi-hotspots": 2, "broadband-coverage": 2,
           "api package_search": 2, "api datastore_search": 2, "catalog.ttl": 1}
API_PAGES = {"api package_search", "api datastore_search"}
