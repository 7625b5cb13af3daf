"""Harvesters of ckanext-gelsenkirchen.

``base`` holds the shared machinery of "one source -> one published dataset
with a DataStore table and files" harvesters (fetching with network safety,
unchanged detection, the deletion guard, the job report and publishing);
``wifi`` is the harvester of public WiFi hotspot sources built on it.
"""
