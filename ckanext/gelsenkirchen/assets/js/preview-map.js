/* Map of the new rows on a harvest source's preview: the GeoJSON block the
 * page renders (points of hotspots, polygons of coverage areas), each with
 * its id and name as text. The counts above the map are the non-JS
 * alternative. */
ckan.module('gk-preview-map', function ($) {
  return {
    initialize: function () {
      var el = this.el[0];
      var source = document.getElementById('gk-preview-data');
      if (!source || typeof L === 'undefined') { return; }
      var data = JSON.parse(source.textContent || '{}');
      var map = window.gkMap.create(el, this.options);
      var t = window.gkMap.text;
      var layer = L.geoJSON(data, {
        pointToLayer: function (feature, latlng) {
          return L.marker(latlng, {
            keyboard: true, title: String(feature.id == null ? '' : feature.id),
            icon: L.divIcon({className: 'gk-marker', iconSize: [18, 18], iconAnchor: [9, 9], popupAnchor: [0, -9]})
          });
        },
        style: function () { return {color: '#0b6e4f', weight: 2, fillOpacity: 0.35}; },
        onEachFeature: function (feature, item) {
          var props = feature.properties || {};
          var name = props.name || props.area_name || '';
          item.bindPopup('<strong>' + t(name) + '</strong><br>' + t(feature.id));
        }
      }).addTo(map);
      window.gkMap.fit(map, layer.getBounds());
      window.gkPreviewMap = {map: map, layer: layer};
    }
  };
});
