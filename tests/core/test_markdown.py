"""The one Markdown renderer and HTML sanitizer: nothing executable survives, formatting does."""

from __future__ import annotations

import pytest


# Imported per test, so that a module that fails to import fails these tests one by one rather
# than stopping the collection of the whole suite.
def render_markdown(text: str | None) -> str:
    from pmhub.core.markdown import render_markdown as render

    return render(text)  # type: ignore[arg-type]


def sanitize_html(html: str) -> str:
    from pmhub.core.markdown import sanitize_html as sanitize

    return sanitize(html)


# --- render_markdown -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "<script>alert(1)</script>",
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n",
            id="script_case",
        ),
        pytest.param(
            'hi <b onclick="steal()">there</b>',
            '<p>hi &lt;b onclick="steal()"&gt;there&lt;/b&gt;</p>\n',
            id="event_handler_case",
        ),
        pytest.param(
            "<img src=x onerror=alert(1)>",
            "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n",
            id="img_onerror_case",
        ),
        pytest.param(
            '<a href="javascript:alert(1)">x</a>',
            '<p>&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;</p>\n',
            id="raw_link_case",
        ),
    ],
)
def test_raw_html_in_markdown_is_shown_as_text(source, expected):
    html = render_markdown(source)

    assert str(html) == expected


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("[x](javascript:alert(1))", id="lowercase_case"),
        pytest.param("[x](JaVaScRiPt:alert(1))", id="mixed_case"),
        pytest.param("[x](data:text/html,<script>alert(1)</script>)", id="data_case"),
        pytest.param("[x](vbscript:msgbox(1))", id="vbscript_case"),
    ],
)
def test_a_markdown_link_to_a_script_url_is_not_a_link(source):
    html = render_markdown(source)

    assert "<a" not in html
    assert "href" not in html


def test_a_markdown_link_gets_rel_noopener_noreferrer():
    assert str(render_markdown("[docs](https://example.com/a?b=1&c=2)")) == (
        '<p><a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer">docs</a></p>\n'
    )


def test_a_mailto_link_is_kept():
    assert str(render_markdown("[mail](mailto:pm@example.com)")) == (
        '<p><a href="mailto:pm@example.com" rel="noopener noreferrer">mail</a></p>\n'
    )


def test_tables_render():
    source = "| Feature | Votes |\n|---|---|\n| Export | 12 |\n| SSO | 7 |"

    assert str(render_markdown(source)) == (
        "<table>\n<thead>\n<tr>\n<th>Feature</th>\n<th>Votes</th>\n</tr>\n</thead>\n"
        "<tbody>\n<tr>\n<td>Export</td>\n<td>12</td>\n</tr>\n"
        "<tr>\n<td>SSO</td>\n<td>7</td>\n</tr>\n</tbody>\n</table>\n"
    )


def test_code_blocks_and_inline_code_render_with_their_content_escaped():
    fenced = render_markdown("```python\nif a < b and c > d:\n    pass\n```")
    inline = render_markdown("use `<div>` here")

    assert str(fenced) == "<pre><code>if a &lt; b and c &gt; d:\n    pass\n</code></pre>\n"
    assert str(inline) == "<p>use <code>&lt;div&gt;</code> here</p>\n"


def test_emphasis_lists_quotes_and_strikethrough_render():
    source = "**bold** _it_ ~~old~~\n\n- one\n- two\n\n> quoted"

    assert str(render_markdown(source)) == (
        "<p><strong>bold</strong> <em>it</em> <s>old</s></p>\n"
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        "<blockquote>\n<p>quoted</p>\n</blockquote>\n"
    )


def test_images_are_dropped():
    assert str(render_markdown("![chart](https://example.com/c.png)")) == "<p></p>\n"


@pytest.mark.parametrize("source", [None, ""])
def test_nothing_renders_to_an_empty_string(source):
    assert str(render_markdown(source)) == ""


def test_the_result_is_marked_safe_for_templates():
    from django.template import Context, Template

    rendered = Template("{{ body }}").render(Context({"body": render_markdown("**hi**")}))

    assert rendered == "<p><strong>hi</strong></p>\n"


# --- sanitize_html ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("<script>alert(1)</script><p>ok</p>", "<p>ok</p>", id="script_case"),
        pytest.param("<style>p{color:red}</style>text", "text", id="style_case"),
        pytest.param('<iframe src="https://evil.example"></iframe>', "", id="iframe_case"),
        pytest.param("<img src=x onerror=alert(1)>", "", id="img_case"),
        pytest.param(
            '<p style="color:red" onmouseover="steal()">t</p>', "<p>t</p>", id="handler_case"
        ),
        pytest.param(
            '<a href="javascript:alert(1)">x</a>',
            '<a rel="noopener noreferrer">x</a>',
            id="javascript_href_case",
        ),
        pytest.param(
            '<a href="data:text/html,x">x</a>',
            '<a rel="noopener noreferrer">x</a>',
            id="data_href_case",
        ),
        pytest.param(
            '<a href="https://example.com" onclick="steal()" target="_blank" rel="opener">x</a>',
            '<a href="https://example.com" rel="noopener noreferrer">x</a>',
            id="link_case",
        ),
        pytest.param('<form action="/x"><input name="q"></form>', "", id="form_case"),
    ],
)
def test_sanitize_html_keeps_only_the_allow_list(html, expected):
    assert str(sanitize_html(html)) == expected
