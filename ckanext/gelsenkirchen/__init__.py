"""ckanext-gelsenkirchen. Every plugin of the package (``gelsenkirchen`` and
the two harvesters) is loaded through this package, so an unsupported CKAN
stops here with one message naming the supported versions, not with an
AttributeError or a template error further down."""
from ckanext.gelsenkirchen.compat import require_supported_ckan

require_supported_ckan()
