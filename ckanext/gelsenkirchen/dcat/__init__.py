"""DCAT-AP.de 2.0 support (ckanext-dcat profile ``gelsenkirchen_dcat_ap_de``)."""
