"""pmhub: the project package and the platform (accounts, workspaces, core helpers).

Kept free of imports so that `python3 -m pmhub.dev` runs on a bare interpreter before the
virtualenv exists. The Celery app is loaded by `pmhub.core.apps.CoreConfig.ready()`.
"""
