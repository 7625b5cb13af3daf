/* Hotspot map of a wifi-hotspots dataset page: clustered markers with popups.
 * The rows come from the JSON block the page renders; every value is
 * inserted as text. The table below the map is the non-JS alternative. */
ckan.module('gk-hotspot-map', function ($) {
  return {
    initialize: function () {
      var el = this.el[0];
      var source = document.getElementById('gk-hotspot-data');
      if (!source || typeof L === 'undefined') { return; }
      var rows = JSON.parse(source.textContent || '[]');
      var map = window.gkMap.create(el, this.options);
      var cluster = L.markerClusterGroup ? L.markerClusterGroup({showCoverageOnHover: false}) : L.featureGroup();
      var t = window.gkMap.text;
      var labels = {  /* translated by the server, data-module-label_* */
        address: t(this.options.label_address), status: t(this.options.label_status),
        operator: t(this.options.label_operator)
      };
      rows.forEach(function (row) {
        var html = '<strong class="gk-popup-name">' + t(row.name) + '</strong><br>' +
          labels.address + ': ' + t([row.address, row.postcode].filter(Boolean).join(', ')) + '<br>' +
          labels.status + ': ' + t(row.status) + '<br>' +
          labels.operator + ': ' + t(row.operator);
        var marker = L.marker([row.lat, row.lon], {
          title: row.name || '', alt: row.name || '', keyboard: true,
          icon: L.divIcon({className: 'gk-marker', iconSize: [18, 18], iconAnchor: [9, 9], popupAnchor: [0, -9]})
        });
        marker.bindPopup(html);
        cluster.addLayer(marker);
      });
      cluster.addTo(map);
      if (rows.length) {
        window.gkMap.fit(map, cluster.getBounds());
      }
      window.gkHotspotMap = {map: map, cluster: cluster};
    }
  };
});
