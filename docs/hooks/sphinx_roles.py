"""MkDocs hook: show the docstrings' Sphinx roles (``:class:`X```) as plain code.

The docstrings are also read by ``help()`` and IDEs, where these roles are the
usual markup; in the site they would show as ``:class:X``.
"""

from __future__ import annotations

import re

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

_ROLE = re.compile(r":(?:attr|class|data|exc|func|meth|mod|obj):(<code>)~?")


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    return _ROLE.sub(r"\1", html)
