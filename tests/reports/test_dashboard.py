"""The dashboard: scoped SQL aggregates, SVG charts with tables, fixed query count."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from casework.reports.charts import column_chart, stacked_chart
from casework.reports.queries import months_back

TILE = r'<a class="stat-link" href="[^"]*"><span class="stat-value">'  # a headline figure, a link


def month_ago(months: int) -> date:
    first = months_back(date.today(), months + 1)[0]
    return first + timedelta(days=2) if first + timedelta(days=2) <= date.today() else first


def cell(html: str, table_id: str, row_label: str) -> list[str]:
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S).group(1)
    row = re.search(rf"<th scope=\"row\">{re.escape(row_label)}</th>(.*?)</tr>", table, re.S).group(1)
    return re.findall(r"<td>(\d+)</td>", row)


def test_supervisor_sees_the_organisations_figures(
    client, login, supervisor, caseworker, colleague, make_case, make_service, make_referral, make_org, org, other_org
):
    this_month = date.today()
    mine = make_case(org, caseworker, opened_on=this_month)
    theirs = make_case(org, colleague, opened_on=month_ago(11), status="in_assistance")
    make_case(org, colleague, opened_on=month_ago(13))  # older than the 12 months shown
    make_case(org, colleague, status="closed", opened_on=this_month)
    foreign = make_case(other_org, None, opened_on=this_month)
    make_service(mine, "shelter", "in_progress")
    make_service(mine, "return", "needed")
    make_service(theirs, "reintegration", "in_progress")
    make_service(theirs, "shelter", "provided")
    make_service(foreign, "shelter", "in_progress")  # another organisation's: never counted
    partner = make_org(kind="partner_ngo")
    make_referral(mine, partner, status="pending", service_kind="legal")
    make_referral(theirs, partner, status="accepted", service_kind="medical")
    make_referral(foreign, partner, status="pending", service_kind="legal")
    login(client, supervisor)
    response = client.get("/reports/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(rf'id="stat-open-cases">\s*{TILE}3</span>', html)
    assert re.search(rf'id="stat-referrals-waiting">\s*{TILE}1</span>', html)
    assert re.search(rf'id="stat-returns">\s*{TILE}2</span>', html)
    assert cell(html, "assistance-table", "Shelter") == ["0", "0", "1", "1", "0", "2"]
    assert cell(html, "returns-table", "Return") == ["1", "0", "0"]
    assert cell(html, "returns-table", "Reintegration") == ["0", "0", "1"]
    assert cell(html, "referrals-table", "Legal assistance") == ["1"]
    new_cases = re.search(r'<table id="new-cases-table">(.*?)</table>', html, re.S).group(1)
    assert len(re.findall(r'<th scope="row">', new_cases)) == 13  # 12 months and the total
    assert re.search(r"Total</th><td>3</td>", new_cases)


def test_caseworker_sees_only_their_own_cases(client, login, caseworker, colleague, make_case, make_service, org):
    mine = make_case(org, caseworker, opened_on=date.today())
    make_case(org, colleague, opened_on=date.today())
    make_service(mine, "medical", "needed")
    login(client, caseworker)
    html = client.get("/reports/").get_data(as_text=True)
    assert re.search(rf'id="stat-open-cases">\s*{TILE}1</span>', html)
    assert cell(html, "assistance-table", "Medical care") == ["1", "0", "0", "0", "0", "1"]
    assert "Figures for the cases assigned to you." in html


def test_charts_are_accessible_svg_without_script_or_inline_style(client, login, supervisor, make_case, org):
    make_case(org, supervisor, opened_on=date.today())
    login(client, supervisor)
    response = client.get("/reports/")
    html = response.get_data(as_text=True)
    assert html.count('<svg class="chart') == 2
    assert 'aria-hidden="true"' in html
    assert re.search(r"<rect class=\"bar\"[^>]*><title>[^<]+: 1</title></rect>", html)
    assert re.search(r'<rect class="seg-[a-z_]+" x=', html) is None  # no services: no segments
    for table_id in ("new-cases-table", "assistance-table", "returns-table"):
        assert re.search(rf'<table id="{table_id}">\s*<caption>[^<]+</caption>', html)
    assert "style=" not in html and "<script>" not in html and "<style" not in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_dashboard_queries_do_not_grow_with_cases(
    client, login, supervisor, make_case, make_service, org, query_counter
):
    login(client, supervisor)

    def add(n: int) -> None:
        for i in range(n):
            case = make_case(org, supervisor, opened_on=date.today() - timedelta(days=30 * (i % 12)))
            make_service(case, "shelter", "in_progress")

    add(5)
    client.get("/reports/")
    with query_counter() as five:
        client.get("/reports/")
    add(45)
    with query_counter() as fifty:
        client.get("/reports/")
    assert fifty.n == five.n


@pytest.mark.parametrize("role", ["researcher", "admin", "partner"])
def test_roles_without_reports_are_refused(client, login, make_user, role):
    login(client, make_user(role))
    assert client.get("/reports/").status_code == 403


def test_chart_geometry():
    chart = column_chart("c", "t", [("Jan 2026", 0), ("Feb 2026", 5), ("Mar 2026", 10)])
    tallest = chart.bars[2]
    assert chart.bars[0].height == 0 and tallest.height == 2 * chart.bars[1].height
    assert tallest.y + tallest.height == chart.baseline and chart.total == 15
    empty = column_chart("c", "t", [("Jan", 0)])
    assert empty.bars[0].height == 0
    stacked = stacked_chart("s", "t", [("A", [("x", 2, "seg-x"), ("y", 0, "seg-y")]), ("B", [("x", 4, "seg-x")])], [])
    assert [len(row.segments) for row in stacked.rows] == [1, 1]
    assert stacked.rows[1].segments[0].width == 2 * stacked.rows[0].segments[0].width


def test_months_back_crosses_the_year():
    assert months_back(date(2026, 2, 15), 3) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


def test_headline_figures_link_to_the_cases_they_count(
    client, login, supervisor, caseworker, colleague, make_case, make_service, org
):
    import html as html_module

    mine = make_case(org, caseworker, status="open")
    theirs = make_case(org, colleague, status="in_assistance")
    make_case(org, colleague, status="closed")
    make_service(mine, "return", "needed")
    make_service(theirs, "return", "provided")  # finished: not under way
    login(client, supervisor)
    page = client.get("/reports/").get_data(as_text=True)

    def cases_behind(link_id: str, pattern: str) -> int:
        card = re.search(rf'id="{link_id}">(.*?)</div>', page, re.S).group(1)
        href = html_module.unescape(re.search(rf'href="([^"]*{pattern}[^"]*)"', card).group(1))
        listing = client.get(href)
        assert listing.status_code == 200, href
        return int(re.search(r'id="case-count">(\d+) case', listing.get_data(as_text=True)).group(1))

    assert cases_behind("stat-open-cases", "status=active") == 2
    assert cases_behind("stat-open-cases", "status=in_assistance") == 1
    assert cases_behind("stat-returns", "kind=return") == 1  # only the return not yet provided
