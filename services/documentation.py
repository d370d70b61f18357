"""Markdown documentation of services, rendered to sanitised HTML.

Generators write a service's documentation (markdown with a mermaid topology diagram); anyone who
can influence it (a generator template, a value copied from a customer) could try to smuggle in a
script. The HTML is therefore cleaned with nh3 *after* markdown rendering: only formatting tags
survive, no ``<script>``, no ``on*`` handlers, no ``style``, and links only to http(s)/mailto.

A fenced ```` ```mermaid ```` block becomes ``<pre class="mermaid">`` with its text escaped, which the
admin page hands to the shipped mermaid script (run with ``securityLevel: "strict"``) to draw.
"""

import re

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
}
ALLOWED_CLASSES = {"code": {"language-mermaid"}}
URL_SCHEMES = {"http", "https", "mailto"}
MARKDOWN_EXTENSIONS = ["fenced_code", "tables", "sane_lists"]

# After cleaning, the only class that can remain on a <code> is language-mermaid and its text is
# escaped, so this rewrite cannot introduce markup.
_MERMAID_BLOCK = re.compile(r'<pre><code class="language-mermaid">(.*?)</code></pre>', re.DOTALL)


def sanitise_html(html: str) -> str:
    """``html`` with everything but formatting removed (scripts, handlers, styles, unsafe URLs)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(text: str | None) -> str:
    """Markdown as sanitised HTML, with mermaid code blocks ready for the mermaid script."""
    if not text:
        return ""
    html = markdown.markdown(text, extensions=MARKDOWN_EXTENSIONS, output_format="html")
    return _MERMAID_BLOCK.sub(r'<pre class="mermaid">\1</pre>', sanitise_html(html))
