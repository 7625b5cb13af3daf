/* Choropleth of a broadband-coverage dataset page: the GeoJSON resource of
 * the latest reference date, coloured by the chosen indicator. The table
 * below the map has the same numbers. */
ckan.module('gk-choropleth', function ($) {
  var BREAKS = [[95, '#045a8d'], [90, '#2b8cbe'], [75, '#74a9cf'], [50, '#bdc9e1'], [0, '#f1eef6']];
  function colour(value) {
    if (value == null || isNaN(value)) { return '#cccccc'; }
    for (var i = 0; i < BREAKS.length; i++) { if (value >= BREAKS[i][0]) { return BREAKS[i][1]; } }
    return BREAKS[BREAKS.length - 1][1];
  }
  return {
    initialize: function () {
      var el = this.el[0];
      if (typeof L === 'undefined') { return; }
      var options = this.options;
      var map = window.gkMap.create(el, options);
      var status = el.parentNode.querySelector('.gk-map-status');
      var t = window.gkMap.text;
      fetch(options.geojson, {credentials: 'same-origin'})
        .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
        .then(function (geojson) {
          var layer = L.geoJSON(geojson, {
            style: function (feature) {
              var value = parseFloat((feature.properties || {})[options.property]);
              return {color: '#1a1a1a', weight: 1, fillOpacity: 0.75, fillColor: colour(value)};
            },
            onEachFeature: function (feature, lyr) {
              var p = feature.properties || {};
              lyr.bindPopup('<strong>' + t(p[options.area_property]) + '</strong><br>' + t(p[options.property]) + ' %');
            }
          }).addTo(map);
          window.gkMap.fit(map, layer.getBounds());
          window.gkChoropleth = {map: map, layer: layer};
        })
        .catch(function () {
          if (status) { status.textContent = options.data_error || ''; }
        });
    }
  };
});
