"""What people read: the terminal reports of ``b2m assess`` and ``b2m monitor``, the patient and clinician
monitoring reports (HTML / PDF), and the cohort report (:mod:`b2m.report.cohort`); one chart helper
(:mod:`b2m.report.charts`) draws every figure."""
