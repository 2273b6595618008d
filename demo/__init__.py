"""``scripts/demo``: the simulated site and Home Assistant with everything configured.

`launcher` starts ``python -m simulator`` and Home Assistant from ``.venv`` with a fresh
configuration in ``.demo/`` (git-ignored), configures the four devices and surplus charging
through Home Assistant's REST API and serves the committed dashboard ``demo/dashboard.yaml``.
It does not import Home Assistant itself.
"""
