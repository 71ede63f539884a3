from onewindow.kit.masking import mask_id_number, mask_identifiers_in_text, mask_name, mask_phone


def test_masks_follow_the_national_display_forms():
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"


def test_identifiers_inside_a_url_are_masked_and_nothing_else():
    path = "/api/v1/validate/id-number/11010519491231002X"
    assert mask_identifiers_in_text(path) == "/api/v1/validate/id-number/110***********002X"
    assert mask_identifiers_in_text("/x/13812345678/y") == "/x/138****5678/y"
    assert mask_identifiers_in_text("/api/v1/validate/uscc/91110000600037341L") == (
        "/api/v1/validate/uscc/91110000600037341L"  # a credit code is public, not personal
    )
