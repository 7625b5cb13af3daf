# ckanext-gelsenkirchen: the commands of the README.
#   make test         install, set up databases, run ruff, the suite and CKAN conformance
#   make demo         run a local portal on http://127.0.0.1:$(PORT) in the background
#   make serve        the same portal under the production servers (gunicorn: CKAN, pgsolr)
#   make stop         stop everything make demo or make serve started
#   make conformance  CKAN's own search tests against the search backend
#   make solr         build Apache Solr 9.10.1 from Maven Central (scripts/solr-ctl.sh)
#   make bench-search pgsolr indexing and query benchmark
#   make fuzz-search  pgsolr's /select parameters, FUZZ_EXAMPLES (100000) random parameter sets
#   make bench-broadband broadband harvester benchmark (grid GeoPackage, 10,000-feature GeoJSON)
#   make bench-harvest WiFi harvester benchmark (10,000-hotspot CSV and GeoJSON)
#   make bench-pages  page response times, portal theme vs stock CKAN templates
#   make bench-load   50 concurrent clients for 60 s against the production servers, theme vs stock
# SEARCH=pgsolr (default) | solr | solrcloud picks the search backend of
# make test, make demo and make conformance (make test SEARCH=solr).
SHELL := /bin/bash
PORT ?= 5000
export PORT

.PHONY: install services test conformance demo serve stop solr bench-search bench-broadband bench-harvest bench-pages bench-load lint config-reference fuzz fuzz-search
FUZZ_EXAMPLES ?= 100000

install:
	@scripts/install.sh

services: install
	@scripts/services.sh

test: install
	@scripts/run-tests.sh

conformance: install
	@scripts/conformance.sh

fuzz: fuzz-search

fuzz-search: install services
	@PGSOLR_FUZZ_LONG=1 PGSOLR_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) .venv/bin/pytest -q -s tests/pgsolr/test_fuzz.py

lint: install
	@.venv/bin/ruff check .

demo: install
	@scripts/demo.sh

serve: install
	@PROD=1 scripts/demo.sh

stop:
	@scripts/stop.sh

solr: install
	@scripts/solr-ctl.sh build

bench-search: install services
	@scripts/setup-db.sh test.ini ckan_test datastore_test >/dev/null
	@.venv/bin/python -m bench.search --dsn postgresql://ckan_default@127.0.0.1/gelsenkirchen_pgsolr $(BENCH_ARGS)

bench-broadband: install services
	@scripts/setup-db.sh test.ini ckan_test datastore_test >/dev/null
	@source scripts/lib.sh; started=0; url_answers "http://$$PGSOLR_HOST:$$PGSOLR_PORT/solr/ckan/admin/ping" || started=1; \
	  scripts/pgsolr-ctl.sh start && .venv/bin/python -m bench.harvest_broadband $(BENCH_ARGS); \
	  rc=$$?; [ "$$started" = 1 ] && scripts/pgsolr-ctl.sh stop; exit $$rc

bench-harvest: install services
	@scripts/setup-db.sh test.ini ckan_test datastore_test >/dev/null
	@source scripts/lib.sh; started=0; url_answers "http://$$PGSOLR_HOST:$$PGSOLR_PORT/solr/ckan/admin/ping" || started=1; \
	  scripts/pgsolr-ctl.sh start && .venv/bin/python -m bench.harvest_wifi $(BENCH_ARGS); \
	  rc=$$?; [ "$$started" = 1 ] && scripts/pgsolr-ctl.sh stop; exit $$rc

bench-pages: install services
	@bench/pages.sh $(BENCH_ARGS)

bench-load: install services
	@bench/load.sh $(BENCH_ARGS)

config-reference: install
	@.venv/bin/python scripts/config_reference.py > docs/configuration.md
