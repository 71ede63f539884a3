from onewindow.kit.context import client_ip

PROXIES = frozenset({"10.0.0.2", "10.0.0.3"})


def test_direct_client_ignores_forwarded_for():
    assert client_ip("203.0.113.7", "1.2.3.4", PROXIES) == "203.0.113.7"


def test_behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client():
    assert client_ip("10.0.0.2", "198.51.100.9, 10.0.0.3", PROXIES) == "198.51.100.9"
    # A client cannot pose as someone else by sending its own X-Forwarded-For first.
    assert client_ip("10.0.0.2", "6.6.6.6, 198.51.100.9", PROXIES) == "198.51.100.9"


def test_no_header_from_a_proxy_falls_back_to_the_proxy():
    assert client_ip("10.0.0.2", None, PROXIES) == "10.0.0.2"
