"""Chinese search: segmentation, two-character words, synonyms, names above guide text."""

from __future__ import annotations

import copy

import yaml

from onewindow.catalog import search, services
from onewindow.catalog.selectors import service_search


def keys(q: str, **filters) -> list[str]:
    return [item.key for item in service_search(q=q, **filters).items]


def test_two_character_words_are_found(sample_catalog):
    assert keys("社保") == ["social_security_card"]  # 社保卡 is indexed as 社保 + 社保卡
    assert keys("医保") == ["resident_medical_insurance"]


def test_synonyms_find_the_official_name(sample_catalog):
    assert keys("开公司") == ["business_license"]
    assert keys("我想开公司") == ["business_license"]  # stop words are ignored
    assert keys("医疗保险") == ["resident_medical_insurance"]


def test_names_rank_above_guide_text(sample_catalog):
    data = yaml.safe_load(services.catalog_export_yaml())
    other = copy.deepcopy(data["items"][2])
    other.update(
        key="card_replacement",
        name="证件补办",
        basic_code="000301002000",
        implementation_code="X" * 20,
        keywords=[],
        acceptance_conditions="遗失社会保障卡或其他证件的人员可以补办。",
    )
    data["items"].append(other)
    services.catalog_import(data)
    # Both mention 社会保障卡; only one has it in its name or keywords.
    assert keys("社会保障卡")[0] == "social_security_card"
    assert set(keys("社会保障卡")) == {"social_security_card", "card_replacement"}


def test_an_item_naming_one_of_two_words_ranks_above_guide_text_alone(sample_catalog):
    # Both items hold both words. The first added (smaller id) has them only in its guide
    # text; the second names 挂失 and has 遗失 in its guide text: it must come first.
    data = yaml.safe_load(services.catalog_export_yaml())
    for key, name, text, n in (
        ("card_notice", "证件补办", "证件遗失或挂失的人员可以补办。", "1"),
        ("card_report", "卡片挂失", "卡片遗失后请及时办理。", "2"),
    ):
        other = copy.deepcopy(data["items"][2])
        other.update(
            key=key,
            name=name,
            basic_code=f"00030100{n}000",
            implementation_code=n * 20,
            keywords=[],
            acceptance_conditions=text,
        )
        data["items"].append(other)
    services.catalog_import(data)
    assert keys("挂失 遗失") == ["card_report", "card_notice"]


def test_all_words_must_match_else_any(sample_catalog):
    assert keys("营业执照 公司章程") == ["business_license"]
    # Nothing has both: fall back to items matching either word.
    assert set(keys("营业执照 社保")) == {"business_license", "social_security_card"}


def test_filters_combine_with_words(sample_catalog):
    assert keys("社保", audience="legal_person") == []
    assert keys("", department="market") == ["business_license"]
    assert set(keys("", life_event="birth")) == {
        "social_security_card",
        "resident_medical_insurance",
    }


def test_hostile_queries_are_harmless(sample_catalog):
    for q in [
        '"',
        "'); DROP TABLE catalog_serviceitem; --",
        "OR AND NOT",
        "*",
        "社保 OR",
        "a" * 500,
        "(",
        "NEAR(a b)",
        "\\",
    ]:
        service_search(q=q)  # no exception: punctuation is never passed to the index
    assert keys("社保") == ["social_security_card"]


def test_query_parsing():
    parsed = search.parse_query("我想开公司", [["营业执照", "开公司", "企业开办"]])
    assert parsed.parts == ((("营业执照",), ("开", "公司"), ("企业", "开办")),)
    assert not search.parse_query("的 和 ", [])


def test_pages_and_totals_of_many_matches(sample_catalog):
    # 25 more items whose guide text alone mentions 社会保障卡: the item that names it ranks
    # first, every page carries the same total, a page past the end is empty with the total.
    data = yaml.safe_load(services.catalog_export_yaml())
    for n in range(25):
        other = copy.deepcopy(data["items"][2])
        other.update(
            key=f"card_copy_{n:02d}",
            name=f"证件补办{n:02d}",
            basic_code=f"0003010{n:02d}000",
            implementation_code=f"{n:02d}" * 10,
            keywords=[],
            acceptance_conditions="遗失社会保障卡的人员可以补办。",
        )
        data["items"].append(other)
    services.catalog_import(data)
    pages = [service_search(q="社会保障卡", page=n, page_size=10) for n in (1, 2, 3, 4)]
    assert [p.total for p in pages] == [26, 26, 26, 26]
    assert [len(p.items) for p in pages] == [10, 10, 6, 0]
    assert pages[0].items[0].key == "social_security_card"
    found = [item.key for p in pages for item in p.items]
    assert len(set(found)) == 26
    assert pages[3].pages == 3
