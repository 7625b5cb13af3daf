"""pgsolr: the part of Apache Solr's HTTP API that CKAN uses, on PostgreSQL.

Standalone service: nothing here imports CKAN.
"""
