"""The web's reverse image search engines, asked only when the user asks; never the index.

- ``search``: which providers to ask, each in its own thread, secrets scrubbed from answers.
- ``providers``: the provider protocol and registry (entry-point group ``revimg.providers``);
  ``tineye``, ``vision``, ``serpapi``: one module per service.
- ``http``: requests with deadlines, retries and failure kinds; ``cache``: answers kept on
  disk; ``imageprep``: the photo as it is uploaded; ``settings``: keys and config;
  ``links``: browser search pages, nothing sent.
"""
