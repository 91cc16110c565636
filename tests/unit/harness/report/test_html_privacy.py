"""The Allure HTML report contacts no one when opened: the generator's analytics tag is removed."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from rich.console import Console

from vnode_harness.formats.versions import ALLURE_NPM
from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.report.allure_html import AllureUnavailable, generate_html
from vnode_harness.report.html_privacy import external_loads, external_urls, make_private, strip_analytics

GENERATED = """<!DOCTYPE html>
<html dir="ltr" lang="en">
<head>
    <title> acme conformance </title>
    <link rel="icon" href="data:image/svg+xml;base64,PHN2Zz4=">
    <script>
      window.allureReportOptions = {"reportName":"acme conformance"}
    </script>
</head>
<body>
    <div id="app"><svg xmlns="http://www.w3.org/2000/svg"></svg></div>
    <script src="data:text/javascript;base64,YWxlcnQoMSk="></script>
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-LNDJ3J7WT0"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('js', new Date());
        gtag('config', 'G-LNDJ3J7WT0', {"report": "awesome"});
    </script>
    <script>window.allure.reportDataFiles = []</script>
</body>
</html>
"""
"""The shape of the awesome plugin's index.html (allure 3.18.0), its analytics block verbatim."""


def test_the_analytics_tag_is_removed_and_the_report_itself_kept():
    assert external_loads(GENERATED)
    private = strip_analytics(GENERATED)
    assert external_urls(private) == []
    assert external_loads(private) == []
    assert "window.allureReportOptions" in private
    assert 'src="data:text/javascript;base64,YWxlcnQoMSk="' in private
    assert "window.allure.reportDataFiles" in private


def test_a_namespace_is_no_url_but_a_link_or_stylesheet_elsewhere_is():
    assert external_urls('<svg xmlns="http://www.w3.org/2000/svg"/>') == []
    assert external_urls('<a href="https://ci.example/run/1">run</a>') == ["https://ci.example/run/1"]
    assert external_loads('<a href="https://ci.example/run/1">run</a>') == []
    assert external_loads('<link rel="stylesheet" href="//fonts.example/x.css">')
    assert external_loads("<style>body{background:url('https://cdn.example/a.png')}</style>")


def test_what_cannot_be_stripped_is_reported(tmp_path):
    (tmp_path / "index.html").write_text(GENERATED + '<img src="https://pixel.example/p.gif">')
    left = make_private(tmp_path)
    assert left == ['index.html: <img src="https://pixel.example/p.gif']
    assert "googletagmanager" not in (tmp_path / "index.html").read_text()


def test_the_real_generator_output_has_no_external_url(tmp_path):
    """On the generator the suite pins, when it is in this machine's cache (it is never installed here)."""
    binary = cache_root() / "npm" / f"allure-{ALLURE_NPM}" / "node_modules" / ".bin" / "allure"
    if not binary.exists() or shutil.which("node") is None:
        pytest.skip(f"allure {ALLURE_NPM} is not in the cache, or no Node.js")
    results = tmp_path / "results"
    results.mkdir()
    result = {"uuid": "1", "historyId": "h", "name": "test_pod_label", "fullName": "t.test_pod_label",
              "status": "passed", "stage": "finished", "start": 1, "stop": 2, "labels": []}  # fmt: skip
    (results / "1-result.json").write_text(json.dumps(result))
    try:
        index = generate_html(results, tmp_path / "html", "acme conformance", Console(file=io.StringIO()))
    except AllureUnavailable as error:
        pytest.fail(str(error))
    pages = sorted((tmp_path / "html").rglob("*.html"))
    assert pages == [index]
    # one file that opens from disk: the data the page reads are inside it, not fetched from data/
    # (a browser refuses file:// fetches, and the page then spins forever)
    assert not (tmp_path / "html" / "data").exists()
    assert 'd("data/test-results/' in index.read_text()
    for page in pages:
        html = page.read_text()
        assert external_urls(html) == [], page
        assert "gtag" not in html
