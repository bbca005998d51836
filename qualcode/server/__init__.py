"""``qualcode serve``: a local page for coding by highlighting text, and for reconciling.

``create_app`` (in ``qualcode.server.app``) builds the Starlette app; the CLI
runs it with uvicorn on the loopback address. See docs/serve.md.
"""
