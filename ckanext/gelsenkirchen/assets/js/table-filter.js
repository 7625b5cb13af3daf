/* Filters a table's rows as the user types (the form also works without
 * JavaScript: it submits and the server filters). */
ckan.module('gk-table-filter', function ($) {
  return {
    initialize: function () {
      var input = this.el[0];
      var table = document.getElementById(this.options.table);
      var count = document.getElementById(this.options.count);
      var template = this.options.count_text || '{shown} / {total}';
      if (!table) { return; }
      var rows = Array.prototype.slice.call(table.tBodies[0].rows);
      var apply = function () {
        var needle = input.value.trim().toLowerCase();
        var shown = 0;
        rows.forEach(function (row) {
          var match = !needle || row.textContent.toLowerCase().indexOf(needle) !== -1;
          row.hidden = !match;
          if (match) { shown += 1; }
        });
        if (count) {
          count.textContent = template.replace('{shown}', shown).replace('{total}', rows.length);
        }
      };
      input.addEventListener('input', apply);
    }
  };
});
