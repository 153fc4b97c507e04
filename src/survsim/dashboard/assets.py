"""The dashboard's web assets, served from this machine: never from a CDN.

Solara's page loads a few JavaScript and CSS packages from a CDN path that its server
proxies and caches on disk. With the cache filled the page needs no network at all; with
it empty and no network, the page never loads. :func:`ensure` fills the cache once, from
the npm registry (the packages the installed Solara's page template names, at the
versions it names), into :func:`assets_dir`; after that the dashboard works offline.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from survsim.errors import SurvsimError

__all__ = ["assets_dir", "ensure", "missing", "needed"]

REGISTRY = "https://registry.npmjs.org"
_SPEC = re.compile(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@[\d.]+)/")


def assets_dir() -> Path:
    """Where the assets live: ``$SURVSIM_DASHBOARD_ASSETS`` or Solara's own cache folder."""
    chosen = os.environ.get("SURVSIM_DASHBOARD_ASSETS")
    return Path(chosen) if chosen else Path(sys.prefix) / "share" / "solara" / "cdn"


def needed() -> list[str]:
    """The npm packages (``name@version``) the installed Solara's page loads."""
    import ipyvue
    import solara.server
    import solara.server.settings

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    specs = set(_SPEC.findall(template.read_text(encoding="utf-8")))
    vuetify3 = int(ipyvue.__version__.split(".")[0]) >= 3
    unused = "@widgetti/solara-vuetify-app@" if vuetify3 else "@widgetti/solara-vuetify3-app@"
    specs = {s for s in specs if not s.startswith(unused)}
    fontawesome = solara.server.settings.assets.fontawesome_path.strip("/").split("/")[0]
    specs.add(fontawesome)
    return sorted(specs)


def missing(root: Path | None = None) -> list[str]:
    """The packages of :func:`needed` not yet in ``root``."""
    root = assets_dir() if root is None else root
    return [s for s in needed() if not (root / s / "package.json").is_file()]


def _tarball_url(spec: str) -> str:
    name, version = spec.rsplit("@", 1)
    return f"{REGISTRY}/{name}/-/{name.split('/')[-1]}-{version}.tgz"


def _unpack(data: bytes, target: Path) -> None:
    """Unpack an npm tarball (its files under ``package/``) into ``target``, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staging = Path(tmp) / "package"
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive.getmembers():
                parts = Path(member.name).parts
                if not parts or parts[0] != "package" or ".." in parts or member.issym():
                    continue  # only the package's own files, never a path outside it
                if member.isfile():
                    out = staging.joinpath(*parts[1:])
                    out.parent.mkdir(parents=True, exist_ok=True)
                    source = archive.extractfile(member)
                    if source is not None:
                        out.write_bytes(source.read())
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)


def ensure(root: Path | None = None, say=print) -> Path:
    """Fetch the missing assets once; returns the folder that holds them all.

    Raises:
        SurvsimError: the registry cannot be reached (one line, with what to do).
    """
    root = assets_dir() if root is None else root
    for spec in missing(root):
        url = _tarball_url(spec)
        say(f"fetching the dashboard's web assets (once): {spec}")
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except OSError as err:
            raise SurvsimError(
                f"dashboard assets: cannot fetch {url} ({err}); run 'survsim dashboard "
                "--prepare' once on a machine with access to the npm registry, or point "
                "SURVSIM_DASHBOARD_ASSETS at a folder that holds them"
            ) from None
        _unpack(data, root / spec)
    return root
