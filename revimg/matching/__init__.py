"""A check: photos in, one :class:`~revimg.matching.result.CheckResult` each out.

- ``checker``: the pipeline (each photo read once, hashed, searched, its metadata read, the
  web asked when the user asked) and the library entry points ``check``/``check_paths``.
- ``find``: candidates from the index (PDQ, crop views, imported pHash, local features).
- ``verify``: the geometric check of a local-feature candidate and its acceptance rule.
- ``result``: ``CheckResult``, ``Match``, ``NotRun``: verdict and evidence, computed once.
"""
