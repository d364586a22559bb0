"""Reports and learning: aggregates in SQL, UN Guiding Principle 31 indicators,
server-drawn SVG charts, CSV exports and the optional public statistics page.

Nothing here loads a case into Python or decrypts anything: every number is
a GROUP BY or an ordered-set aggregate over the columns kept in the clear,
plus the counts that outlived purged cases (`AggregateCount`). Exports and
the public page suppress small cells ("<5").
"""
