// Draws the charts of an rpcctl bench HTML report with uPlot: see rpcctl/bench/render/charts.py.
(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("rpcctl-charts").textContent);
  function axis(spec, side) {
    var out = {label: spec.label, size: side ? 70 : 50, labelSize: 20};
    if (spec.ticks.length) {
      var name = function (v) {  // the split may come back rounded
        var near = spec.ticks.filter(function (t) { return Math.abs(v / t[0] - 1) < 0.01; });
        return near.length ? near[0][1] : "";
      };
      out.splits = function () { return spec.ticks.map(function (t) { return t[0]; }); };
      out.values = function (u, splits) { return splits.map(name); };
      out.filter = function (u, splits) { return splits; };  // a log axis labels only powers of 10
    }
    return out;
  }
  function scale(spec, fromZero, bars) {
    if (spec.log) {
      // A little room around the first and last ticks, so that both are drawn and labelled.
      var lo = spec.ticks.length ? spec.ticks[0][0] * 0.97 : null;
      var hi = spec.ticks.length ? spec.ticks[spec.ticks.length - 1][0] * 1.03 : null;
      return {time: false, distr: 3, log: 10, range: function (u, min, max) { return [lo || min, hi || max]; }};
    }
    if (bars) { return {time: false, distr: 2}; }
    return fromZero ? {range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.05 : 1]; }} : {time: false};
  }
  window.rpcctlCharts = specs.map(function (spec) {
    var series = [{label: spec.x.label}];
    spec.series.forEach(function (s) {
      var one = {label: s.label, stroke: s.colour, width: 2, points: {show: spec.xs.length < 3}};
      if (spec.kind === "bars") {
        one.fill = s.colour + "aa";
        one.paths = uPlot.paths.bars({size: [0.9, 80]});
        one.points = {show: false};
      }
      series.push(one);
    });
    var opts = {
      width: 760, height: 300, series: series,
      scales: {x: scale(spec.x, false, spec.kind === "bars"), y: scale(spec.y, true, false)},
      axes: [axis(spec.x, false), axis(spec.y, true)],
    };
    var data = [spec.xs].concat(spec.series.map(function (s) { return s.values; }));
    return new uPlot(opts, data, document.getElementById(spec.id));
  });
})();
