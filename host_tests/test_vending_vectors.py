"""tools/vending.py reproduces every vector of sts-tokens.md section 5."""

import datetime as dt

import pytest
from Crypto.Cipher import DES

from vtc07 import vending

KEY = 0xABABABABABABABAB
VECTORS = [
    ("600727000000000009", 0xE653341F9D5BF36F, dt.datetime(2004, 3, 1, 13, 55), 0, "23716100501183194197"),
    ("000001000000000082", 0xE94023262E9993C2, dt.datetime(2004, 3, 1, 14, 0), 0, "67206107716095682372"),
    ("600727000000000009", 0xE653341F9D5BF36F, dt.datetime(2004, 3, 1, 14, 5), 1, "42502136492215507402"),
    ("000001000000000082", 0xE94023262E9993C2, dt.datetime(2004, 3, 1, 14, 10), 1, "09109691696351271646"),
    ("600727000000000009", 0xE653341F9D5BF36F, dt.datetime(2004, 3, 1, 14, 15), 2, "67586531586639825066"),
    ("000001000000000082", 0xE94023262E9993C2, dt.datetime(2004, 3, 1, 14, 20), 2, "35758660990071466853"),
]


@pytest.mark.parametrize("meter,dk,issued,subclass,expected", VECTORS)
def test_credit_vectors(meter, dk, issued, subclass, expected):
    assert vending.dkga02(KEY, meter, 2, 123456, 1, 1) == dk
    tid = vending.tid_minutes(issued)
    assert vending.digits(vending.token(0, subclass, 5, tid, 1, dk)) == expected


def test_set_maximum_power_limit_vector():
    tid = vending.tid_minutes(dt.datetime(2004, 4, 1, 7, 0))
    assert vending.digits(vending.token(2, 0, 5, tid, 256, 0xE653341F9D5BF36F)) == "41932934023937597177"


def test_class1_vectors():
    assert vending.digits(vending.class1_token(0, 2**36 - 1, 0)) == "56493153725450313471"
    assert vending.digits(vending.class1_token(1, 2**28 - 1, 0)) == "02305843005052951967"


def test_amount_encoding_limits():
    assert vending.amount_field(1) == 1
    assert vending.amount_field(16383) == 16383
    assert vending.amount_field(18201624) == 0xFFFF
    with pytest.raises(ValueError):
        vending.amount_field(18201625)


def test_pycryptodome_des_is_the_des_we_mean():
    # FIPS 81 / classic DES test: key 133457799BBCDFF1, plaintext 0123456789ABCDEF
    out = DES.new(bytes.fromhex("133457799BBCDFF1"), DES.MODE_ECB).encrypt(bytes.fromhex("0123456789ABCDEF"))
    assert out.hex().upper() == "85E813540F0AB405"


# --- edition 3 (sts-edition3.md sections 2 and 5) ----------------------------------------

VK04 = 0xABABABABABABABAB949494949494949401234567
PAN = "600727000000000009"
EA11_DK = 0xF94B6ED353C3BFDB113E2D3A7EA3C41D
EA11_DK_TI2 = 0xB208834372EF892EF6E04C28593090D4
EA07_DK = 0x87F3ECBB2E46B48F


@pytest.mark.parametrize(
    "bd, algorithm, sgc, ti, dk",
    [
        (2014, "sta", 201457, 1, EA07_DK),
        (2014, "misty1", 201457, 1, 0x929BD3A415C9420A05EC5EE9F3CE91C3),
        (1993, "misty1", 123457, 1, EA11_DK),
        (1993, "misty1", 123457, 2, EA11_DK_TI2),
    ],
)
def test_dkga04_vectors(bd, algorithm, sgc, ti, dk):
    assert vending.dkga04(VK04, PAN, 2, sgc, ti, 1, bd, algorithm) == dk


def test_dkga04_refuses_what_it_cannot_make():
    with pytest.raises(ValueError):
        vending.dkga04(VK04, PAN, 2, 123457, 1, 1, 1993, "des")
    with pytest.raises(ValueError):
        vending.dkga04(1 << 160, PAN, 2, 123457, 1, 1, 1993, "sta")


def test_ea11_credit_vectors():
    for subclass, issued, expected in (
        (0, dt.datetime(2004, 3, 1, 13, 0), "59386323472137426967"),
        (1, dt.datetime(2004, 3, 1, 13, 5), "47186281207955155808"),
    ):
        tid = vending.tid_minutes(issued, 1993)
        assert vending.digits(vending.token(0, subclass, 5, tid, 1, EA11_DK, "misty1")) == expected


def test_ea11_four_token_key_change_vector():
    tokens = vending.key_change_tokens(EA11_DK_TI2, 255, 1, 0, 2, 2, EA11_DK, "misty1", sgc=123457)
    assert [vending.digits(t) for t in tokens] == [
        "34812744915211133004",
        "46903925208523674737",
        "71464563847088610152",
        "67904239402617643990",
    ]


def decrypted(number, dk):
    """The data block of an EA07 token, decrypted by the firmware (the spec lists them)."""
    from sta import Sta
    from tokens import Token, bits_from_bytes

    key = bytearray(64)
    bits_from_bytes(dk.to_bytes(8, "big"), key)
    t = Token()
    assert t.load(number)
    Sta(key).decrypt(t.bits)
    return "%016x" % t.field(63, 64)


def test_ea07_dkga04_credit_vectors():
    for subclass, issued, expected, block in (
        (0, dt.datetime(2014, 3, 1, 13, 0), "70630503470028726114", "05014eec00013188"),
        (3, dt.datetime(2014, 3, 1, 13, 15), "09746334499913988084", "35014efb0001847c"),
    ):
        tid = vending.tid_minutes(issued, 2014)
        number = vending.token(0, subclass, 5, tid, 1, EA07_DK)
        assert vending.digits(number) == expected and decrypted(number, EA07_DK) == block


def test_ea07_two_and_three_token_key_change_vectors():
    new = vending.dkga04(VK04, PAN, 2, 201457, 2, 1, 2014, "sta")
    assert new == 0x7F78CDD220BE39B8
    two = vending.key_change_tokens(new, 255, 1, 0, 2, 2, EA07_DK)
    assert [vending.digits(t) for t in two] == ["06510894141453018386", "22979178279997208272"]
    assert [decrypted(t, EA07_DK) for t in two] == ["3f127f78cdd2c8cc", "4f0220be39b836f9"]
    three = vending.key_change_tokens(new, 255, 1, 0, 2, 2, EA07_DK, sgc=201457)
    assert [vending.digits(t) for t in three] == [
        "52506022850399603630",
        "22979178279997208272",
        "39620459059615037790",
    ]
    assert decrypted(three[0], EA07_DK) == "3f167f78cdd2390c"
    assert decrypted(three[2], EA07_DK) == "80312f10000053d5"


def test_ea07_currency_vector():
    field = vending.credit_field(4, "1")
    assert field == 0x060AA and vending.currency_value(field) == 100004  # the nearest to 1.00000
    tid = vending.tid_minutes(dt.datetime(2024, 4, 21, 10, 1), 2014)
    number = vending.currency_token(4, tid, field, EA07_DK)
    assert vending.digits(number) == "42334201269947232996"
    assert decrypted(number, EA07_DK) == "4052b13960aac385"


def test_currency_amounts():
    assert vending.currency_value(vending.currency_field(16383)) == 16383
    assert vending.currency_field(-50) == (1 << 19) | 50
    assert vending.currency_value((1 << 19) | 50) == -50
    with pytest.raises(ValueError):
        vending.credit_field(4, "0.000001")


def test_dkga02_key_change_vector_ctsa05():
    old = vending.dkga02(KEY, PAN, 2, 123456, 1, 1)
    new = vending.dkga02(KEY, PAN, 2, 123456, 2, 1)
    tokens = vending.key_change_tokens(new, 255, 1, 0, 2, 2, old)
    assert [vending.digits(t) for t in tokens] == ["51638423060042734509", "15361891762113502242"]
    assert [decrypted(t, old) for t in tokens] == ["3f12060b8643d717", "4f02c59a27f189a8"]


def test_class1_edition3_vectors():
    assert vending.digits(vending.class1_token(0, 0x8, 0)) == "18446744073843772416"
    assert vending.digits(vending.class1_token(0, 0x1, 0)) == "00000000000150997584"
    assert vending.digits(vending.class1_token(1, 0x1, 0)) == "01152921509036054672"


# --- `vtc07 generate`: the same vectors from the command line -------------------------------


def generate(*argv):
    from vtc07 import cli as vtc07

    lines = []
    status = vtc07.main(["generate", *argv], out=lines.append)
    return status, [line.replace("-", "") for line in lines]


def test_generate_ea11_credit_and_four_token_set():
    ea11 = ("--algorithm", "misty1", "--base-date", "1993", "--sgc", "123457", "--rnd", "5")
    assert generate(*ea11, "--issued", "2004-03-01 13:05", "credit", "--service", "water", "--amount", "0.1") == (
        0,
        ["47186281207955155808"],
    )
    assert generate(*ea11, "key-change", "--new-krn", "1", "--new-ti", "2") == (
        0,
        ["34812744915211133004", "46903925208523674737", "71464563847088610152", "67904239402617643990"],
    )
    assert generate(
        "--algorithm",
        "misty1",
        "--dk",
        "%032x" % EA11_DK,
        "--tid",
        "5871660",
        "--rnd",
        "5",
        "credit",
        "--amount",
        "0.1",
    ) == (0, ["59386323472137426967"])


def test_generate_ea07_dkga04_sets_and_currency():
    ea07 = ("--dkga", "04", "--base-date", "2014", "--sgc", "201457", "--rnd", "5")
    assert generate(*ea07, "key-change", "--new-krn", "1", "--new-ti", "2") == (
        0,
        ["06510894141453018386", "22979178279997208272"],
    )
    assert generate(*ea07, "key-change", "--new-krn", "1", "--new-ti", "2", "--new-sgc", "201457") == (
        0,
        ["52506022850399603630", "22979178279997208272", "39620459059615037790"],
    )
    assert generate(*ea07, "--issued", "2024-04-21 10:01", "credit", "--service", "currency", "--amount", "1") == (
        0,
        ["42334201269947232996"],
    )
    assert generate(*ea07, "--issued", "2014-03-01 13:15", "credit", "--service", "time", "--amount", "0.1") == (
        0,
        ["09746334499913988084"],
    )


@pytest.mark.parametrize(
    "argv",
    [
        ("--algorithm", "misty1", "--dkga", "02", "credit", "--amount", "1"),  # DKGA02 makes no 128-bit key
        ("--algorithm", "misty1", "--dk", "E653341F9D5BF36F", "credit", "--amount", "1"),  # 64-bit key for EA11
        ("--dk", "%032x" % EA11_DK, "credit", "--amount", "1"),  # 128-bit key for EA07
        ("--algorithm", "des", "--dkga", "04", "credit", "--amount", "1"),
        ("--dkga", "04", "--vending-key", "XYZ", "credit", "--amount", "1"),
        ("--dkga", "04", "key-change", "--new-sgc", "1000000"),
        ("--dkga", "04", "--tid", "1", "credit", "--service", "currency", "--amount", "0.000001"),
    ],
)
def test_generate_refuses_bad_arguments_with_exit_2(argv, capsys):
    assert generate(*argv)[0] == 2
    err = capsys.readouterr().err
    assert err.startswith("vtc07: ") and "Traceback" not in err
