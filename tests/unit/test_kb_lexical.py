from __future__ import annotations

from kb_index.lexical import BM25Index, tokenize


def test_tokenizer_keeps_codes_whole_and_in_parts_and_makes_chinese_bigrams() -> None:
    tokens = tokenize("VPN 报错 E-1234")
    assert {"vpn", "e-1234", "1234", "报错", "报", "错"} <= set(tokens)


def test_exact_error_code_ranks_its_document_first() -> None:
    index = BM25Index()
    index.add(1, "Payment failed with error E-4001 on checkout")
    index.add(2, "Payment failed because the card expired")
    index.add(3, "Printer shows error E-5002")
    assert index.top("what does E-4001 mean", 3)[0][0] == 1


def test_removing_and_replacing_a_document_updates_scores() -> None:
    index = BM25Index()
    index.add(1, "router firmware update")
    index.add(2, "refund request")
    index.remove(1)
    assert index.scores("router") == {}
    index.add(2, "router reboot")
    assert list(index.scores("router")) == [2] and len(index) == 1


def test_chinese_query_matches_by_character_bigrams() -> None:
    index = BM25Index()
    index.add(1, "花呗怎么提额")
    index.add(2, "借呗还款日期")
    assert index.top("花呗额度提升", 1)[0][0] == 1
