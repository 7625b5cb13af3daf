"""Template helpers of ckanext-gelsenkirchen, one module per page or concern
(collected by ``toolkit.blanket.helpers`` from ``__all__``).

* ``forms``: choices of the scheming form fields, licence and facet labels
* ``formatting``: dates and numbers in the visitor's language
* ``site``: footer links, map settings, registered dataset types
* ``home``: the home page's key figures, newest datasets and themes
* ``wifi_page`` and ``broadband_page``: the data of the map/table/chart
  blocks of the two harvested dataset types (reading their resources with
  ``resources``), ``dataset_view``: the block rendered once per dataset
  version
* ``pager``: list pagination with named links

Presentation only: ``logic`` never imports from here (a ruff rule checks it).
"""
from __future__ import annotations

from ckanext.gelsenkirchen.helpers import (
    broadband_page,
    dataset_view,
    formatting,
    forms,
    home,
    pager,
    site,
    wifi_page,
)
from ckanext.gelsenkirchen.helpers.broadband_page import *  # noqa: F403
from ckanext.gelsenkirchen.helpers.dataset_view import *  # noqa: F403
from ckanext.gelsenkirchen.helpers.formatting import *  # noqa: F403
from ckanext.gelsenkirchen.helpers.forms import *  # noqa: F403
from ckanext.gelsenkirchen.helpers.home import *  # noqa: F403
from ckanext.gelsenkirchen.helpers.pager import *  # noqa: F403
from ckanext.gelsenkirchen.helpers.site import *  # noqa: F403
from ckanext.gelsenkirchen.helpers.wifi_page import *  # noqa: F403

__all__: list[str] = [name for module in (forms, formatting, site, home, wifi_page,
                                          broadband_page, dataset_view, pager)
                      for name in module.__all__]
