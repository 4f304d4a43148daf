"""The renderer as documents use it: tables, task lists, code blocks and strikethrough render;
raw HTML is shown as text; script links are dropped; nothing in user text forges a reference."""

from __future__ import annotations

import pytest

from pmhub.core.markdown import references_in, render_markdown


def _chips(references):
    return {ref: f"<CHIP {ref[0]}:{ref[1]}>" for ref in references}


def test_a_table_renders_with_its_alignment():
    html = str(render_markdown("| Goal | Target |\n| --- | :-: |\n| Churn | 2% |\n"))
    assert "<table>" in html
    assert "<th>Goal</th>" in html
    assert "<td>Churn</td>" in html
    assert '<th align="center">Target</th>' in html or "<th>Target</th>" in html


def test_task_lists_render_boxes_done_and_to_do():
    html = str(render_markdown("- [ ] write it\n- [x] ship it\n- plain\n"))
    assert '<li class="md-task"><span class="md-task__box" role="img" aria-label="To do">' in html
    assert 'class="md-task md-task--done"' in html
    assert 'aria-label="Done">✓</span> ship it' in html
    assert "<li>plain</li>" in html


def test_a_loose_task_list_renders_boxes_too():
    html = str(render_markdown("- [ ] one\n\n- [x] two\n"))
    assert html.count('role="img"') == 2


def test_code_blocks_keep_their_text_escaped():
    html = str(render_markdown('```python\nx = "<b>" & 1\n```\n\n    indented <i>\n'))
    assert "<pre><code" in html
    assert "x = &quot;&lt;b&gt;&quot; &amp; 1" in html or 'x = "&lt;b&gt;" &amp; 1' in html
    assert "indented &lt;i&gt;" in html


def test_strikethrough_renders():
    assert "<s>gone</s>" in str(render_markdown("~~gone~~")) or "<del>gone</del>" in str(
        render_markdown("~~gone~~")
    )


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<svg onload="alert(1)">',
        "<iframe src=javascript:alert(1)></iframe>",
        "<style>*{background:url(javascript:alert(1))}</style>",
        '<div style="width: expression(alert(1))">x</div>',
    ],
)
def test_raw_html_is_shown_as_text(source):
    html = str(render_markdown(source))
    assert "<" + source[1:4] not in html
    assert "&lt;" in html


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](javascript&#58;alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
        "![x](javascript:alert(1))",
        '[x](https://ok.example "x\\" onmouseover=\\"alert(1)")',
        "[x]\n\n[x]: javascript:alert(1)",
    ],
)
def test_script_links_are_dropped(source):
    html = str(render_markdown(source)).lower()
    assert 'href="javascript' not in html
    assert 'href="data' not in html
    assert 'href="vbscript' not in html
    assert "onmouseover=" not in html.replace("onmouseover=&quot;", "")
    assert "<img" not in html


def test_a_safe_autolink_is_kept():
    html = str(render_markdown("<https://ok.example/a>"))
    assert '<a href="https://ok.example/a" rel="noopener noreferrer">' in html


@pytest.mark.parametrize(
    "source",
    [
        "\ue000item:1\ue001",
        "&#xE000;item:1&#xE001;",
        "&#57344;item:1&#57345;",
        "&#xE000;0123456789abcdefitem:1&#xE001;",
        '[&#xE000;item:1&#xE001;](https://x.example "&#xE000;item:2&#xE001;")',
        "`\ue000item:1\ue001`",
    ],
)
def test_private_use_markers_in_user_text_cannot_forge_a_reference(source):
    html = str(render_markdown(source, _chips))
    assert "<CHIP" not in html
    assert references_in(source) == []


def test_a_reference_beside_a_forged_one_is_the_only_one_drawn():
    source = "&#xE000;item:1&#xE001; [[item:2]]"
    assert references_in(source) == [("item", 2)]
    html = str(render_markdown(source, _chips))
    assert html.count("<CHIP") == 1
    assert "<CHIP item:2>" in html


def test_a_reference_like_token_with_an_attribute_payload_is_plain_text():
    source = '[[item:1" onmouseover="alert(1)]]'
    html = str(render_markdown(source, _chips))
    assert "<CHIP" not in html
    assert references_in(source) == []
    # Text between tags, never inside one.
    assert html == '<p>[[item:1" onmouseover="alert(1)]]</p>\n'


def test_a_lone_private_use_character_from_an_entity_is_dropped():
    assert str(render_markdown("a&#xE000;b&#xE001;c")) == "<p>abc</p>\n"
    assert "\ue000" not in str(render_markdown("&#xE000;item:1&#xE001; [[item:2]]", _chips))
