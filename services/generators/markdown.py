"""Writing a service's documentation: markdown text and links, and mermaid labels, safe from the values in them.

Shared by the generators (Dedicated Internet, L2VPN): a tenant's name or an identifier must read as
plain text, never as markup, and a label must not end a mermaid node early.
"""

import re

from .base import admin_url

_MARKUP = re.compile(r"[\\`*\[\]<>|]|(?<!\w)_|_(?!\w)")


def md_text(text: str) -> str:
    """``text`` with what markdown would read as markup escaped (an underscore inside a word is plain)."""
    return _MARKUP.sub(lambda match: "\\" + match.group(0), text)


def md_link(text: str, obj) -> str:
    """``text`` linked to ``obj``'s admin page (plain text if it has none)."""
    url = admin_url(obj)
    return f"[{md_text(text)}]({url})" if url else md_text(text)


def mermaid_text(text: str) -> str:
    """A mermaid node label: quotes cannot be escaped inside one, so they become mermaid entities."""
    return text.replace('"', "#quot;")
