"""Renderers of a :class:`~revimg.matching.result.CheckResult`; they compute nothing new.

- ``words``: the sentences (verdict, evidence, matches, what did not run, next steps).
- ``data``: the stable JSON shape (``result_dict``) and the JSON/JSONL/CSV writers.
- ``html``: the report a person opens in a browser.
"""
