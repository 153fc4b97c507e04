"""The web dashboard (``survsim dashboard``): explore a scenario in the browser.

Needs the ``dashboard`` extra (Solara). Runs happen in subprocesses (:mod:`.jobs`), the
page is :mod:`.app`, the server :mod:`.server`, and every web asset is served from this
machine (:mod:`.assets`).
"""
