"""The one template-message builder: every keyword field cut the same way."""

from backend.messaging import templates


def test_fields_are_squeezed_and_cut_with_a_visible_ellipsis():
    long = "三栋二单元五零一室厨房水管接头漏水很严重一直在滴"
    built = templates.message("TPL", "全文", "BX261123001", long, "  两 \n 行  ", None, url="https://x/1")
    assert built["template_id"] == "TPL" and built["text"] == "全文" and built["url"] == "https://x/1"
    data = built["data"]
    assert data["keyword1"]["value"] == "BX261123001"
    assert len(data["keyword2"]["value"]) == templates.FIELD_LIMIT and data["keyword2"]["value"].endswith("…")
    assert data["keyword3"]["value"] == "两 行" and data["keyword4"]["value"] == ""
    assert templates.cut("x" * templates.FIELD_LIMIT) == "x" * templates.FIELD_LIMIT  # exactly 20: kept whole
