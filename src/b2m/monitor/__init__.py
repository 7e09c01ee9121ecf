"""Monitoring over time: IMWG 2016 response and progression from dated series, B2M kinetics next to
kidney function, and alerts.

- :mod:`b2m.monitor.series` - a patient's dated series as domain data (read at the edge, :mod:`b2m.io.series`)
- :mod:`b2m.monitor.imwg_2016` - measurable disease, categories, nadir, confirmation,
  re-baselining, relapse from CR, light-chain escape (Kumar 2016)
- :mod:`b2m.monitor.kinetics` - B2M log-linear slope, doubling/halving time, eGFR at each point
- :mod:`b2m.monitor.alerts` - confirmed progression, B2M rising from nadir, unit/method changes, gaps
- :mod:`b2m.monitor.monitor` - :func:`monitor_patient`, the JSON contract (docs/monitor-contract.md)
"""
