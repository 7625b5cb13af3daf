# ckanext-gelsenkirchen: the commands of the README.
#   make test         install, set up databases, run ruff, the suite and CKAN conformance
#   make demo         run a local portal on http://127.0.0.1:$(PORT) in the background
#   make serve        the same portal under the production servers (gunicorn: CKAN, pgsolr)
#   make stop         stop everything make demo or make serve started
#   make conformance  CKAN's own search tests against the search backend
#   make test-solrcloud  the SolrCloud test: index, search, one node stopped and started
#   make solr         build Apache Solr 9.10.1 from Maven Central (scripts/solr-ctl.sh)
#   make bench-search pgsolr indexing and query benchmark (SEARCH=solr|both: on Solr, side by side)
#   make fuzz-search  pgsolr's /select parameters, FUZZ_EXAMPLES (100000) random parameter sets
#   make fuzz-parsers the harvest parsers, FUZZ_EXAMPLES random inputs per target, under limits
#   make fuzz         both
#   make diff-search  pgsolr against Apache Solr: DIFF_QUERIES (5000) generated queries, DIFF_SEED (1)
#   make relevance    the German relevance set: recall and precision at 10 (SEARCH=pgsolr|solr)
#   make bench-broadband broadband harvester benchmark (grid GeoPackage, 10,000-feature GeoJSON)
#   make bench-harvest WiFi harvester benchmark (10,000-hotspot CSV and GeoJSON)
#   make bench-pages  page response times, portal theme vs stock CKAN templates
#   make bench-load   50 concurrent clients for 60 s against the production servers, theme vs stock
# SEARCH=pgsolr (default) | solr | solrcloud picks the search backend of
# make test, make demo and make conformance (make test SEARCH=solr).
SHELL := /bin/bash
PORT ?= 5000
export PORT

.PHONY: install services test test-solrcloud conformance demo serve stop solr diff-search relevance bench-search bench-broadband bench-harvest bench-pages bench-load lint config-reference fuzz fuzz-search fuzz-parsers
FUZZ_EXAMPLES ?= 100000

install:
	@scripts/install.sh

services: install
	@scripts/services.sh

test: install
	@scripts/run-tests.sh

conformance: install
	@scripts/conformance.sh

test-solrcloud: install
	@scripts/test-solrcloud.sh

fuzz: fuzz-parsers fuzz-search

# no services: the parsers are pure; FUZZ_MEMORY_MB and FUZZ_CPU_SECONDS bound each target
fuzz-parsers: install
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) .venv/bin/python scripts/fuzz_parsers.py $(FUZZ_TARGETS)

fuzz-search: install services
	@PGSOLR_FUZZ_LONG=1 PGSOLR_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) .venv/bin/pytest -q -s tests/pgsolr/test_fuzz.py

# the differential test alone, on a standalone Solr it starts (and stops) when
# none answers on SOLR_PORT; make test SEARCH=solr runs it with 500 queries
diff-search: install services
	@SEARCH=solr CONFORMANCE=0 PGSOLR_DIFF_QUERIES=$(or $(DIFF_QUERIES),5000) \
	  PGSOLR_DIFF_SEED=$(or $(DIFF_SEED),1) scripts/run-tests.sh -s tests/pgsolr/test_differential.py

# the German relevance set (tests/search/relevance_de.yaml) on SEARCH's backend:
# prints recall and precision at 10 per query and overall (also kept in
# test-artifacts/relevance-<backend>.txt); make test runs the same checks
relevance: install services
	@CONFORMANCE=0 scripts/run-tests.sh -s tests/search/test_relevance.py

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

# SEARCH=both is no backend of lib.sh: install and services run without it
bench-search:
	@SEARCH=pgsolr scripts/install.sh && SEARCH=pgsolr scripts/services.sh
	@scripts/bench-search.sh $(BENCH_ARGS)

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
