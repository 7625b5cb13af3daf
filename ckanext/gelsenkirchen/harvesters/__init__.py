"""Harvesters of ckanext-gelsenkirchen.

``base`` holds the shared machinery of "one source -> one published dataset
with a DataStore table and files" harvesters (fetching with network safety,
unchanged detection, the deletion guard, the job report and publishing),
``source`` the toolkit that reads their sources; ``wifi`` (public WiFi
hotspots) and ``broadband`` (broadband coverage) are the harvesters built
on them.
"""
