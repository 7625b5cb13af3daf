/* Shared by the dataset-page maps: a Leaflet map on the configured tiles
 * that says so when tiles fail to load (the data layers stay visible). */
window.gkMap = window.gkMap || {
  create: function (el, options) {
    var map = L.map(el, {scrollWheelZoom: false});
    var status = el.parentNode.querySelector('.gk-map-status');
    var failed = 0;
    var tiles = L.tileLayer(options.tile_url, {
      maxZoom: parseInt(options.max_zoom, 10) || 18,
      attribution: options.attribution || ''
    });
    tiles.on('tileerror', function () {
      failed += 1;
      if (failed === 1 && status) {
        status.textContent = options.tile_error || '';
        status.classList.add('gk-map-status-error');
        el.classList.add('gk-tiles-failed');
      }
    });
    tiles.addTo(map);
    map.setView([51.54, 7.07], 12);
    return map;
  },
  fit: function (map, bounds) {
    /* fit the data; again once the page (and its stylesheets) has loaded */
    if (!bounds.isValid()) { return; }
    var fit = function () { map.invalidateSize(); map.fitBounds(bounds, {padding: [30, 30], maxZoom: 16}); };
    fit();
    if (document.readyState !== 'complete') { window.addEventListener('load', fit); }
  },
  text: function (value) {
    /* text for a popup: escaped, never interpreted as HTML */
    var span = document.createElement('span');
    span.textContent = value == null ? '' : String(value);
    return span.innerHTML;
  }
};
