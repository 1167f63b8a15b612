from __future__ import annotations

import pytest

from green_tg_async._phone import normalize_phone, normalize_username


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (79876543210, 79876543210),
        ("79876543210", 79876543210),
        ("+7 987 654-32-10", 79876543210),
        ("+7 (987) 654.32.10", 79876543210),
        ("  +44 20 7946 0958 ", 442079460958),
        (12345, 12345),
        ("123456789012345", 123456789012345),
    ],
)
def test_valid_numbers_become_ints(given: int | str, expected: int) -> None:
    assert normalize_phone(given) == expected


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("7987abc3210", "not digits: 'abc'"),
        ("+7 987 654 32 1O", "not digits: 'O'"),
        ("٧٩٨٧٦٥٤٣٢١٠", "not digits"),
        ("1234", "too short: 4 digits"),
        (1234, "too short"),
        ("1234567890123456", "too long: 16 digits"),
        (1234567890123456, "too long"),
        (-79876543210, "negative"),
        ("-79876543210", "negative"),
        ("0079876543210", "starts with 0"),
    ],
)
def test_bad_numbers_name_the_problem(given: int | str, problem: str) -> None:
    with pytest.raises(ValueError, match="phone number") as info:
        normalize_phone(given)
    assert problem in str(info.value)


@pytest.mark.parametrize("given", [True, 7.9, None, b"7987"])
def test_wrong_types_raise_type_error(given: object) -> None:
    with pytest.raises(TypeError, match="int or a str"):
        normalize_phone(given)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("@durov", "@durov"), ("durov", "@durov"), (" @Some_Bot1 ", "@Some_Bot1")],
)
def test_usernames_get_one_at_sign(given: str, expected: str) -> None:
    assert normalize_username(given) == expected


@pytest.mark.parametrize("given", ["", "@", "du rov", "@@durov", "дуров", "a" * 33])
def test_bad_usernames_raise(given: str) -> None:
    with pytest.raises(ValueError, match="not a Telegram username"):
        normalize_username(given)


def test_username_must_be_text() -> None:
    with pytest.raises(TypeError, match="username must be a str"):
        normalize_username(42)  # type: ignore[arg-type]


def test_issue11_national_numbers_are_read_in_the_region() -> None:
    from green_tg_async._phone import check_region

    ru = check_region("ru")
    assert ru == "RU"
    assert normalize_phone("8 (987) 654-32-10", ru) == 79876543210
    assert normalize_phone("+7 987 654-32-10", ru) == 79876543210
    assert normalize_phone(79876543210, ru) == 79876543210  # ints are international
    assert normalize_phone("8 (987) 654-32-10") == 89876543210  # no region: as before
    with pytest.raises(ValueError, match="not a possible number"):
        normalize_phone("8 987 65", ru)
    with pytest.raises(ValueError, match="cannot be read"):
        normalize_phone("call me", ru)
    with pytest.raises(ValueError, match="ISO 3166"):
        check_region("XX")
    assert check_region(None) is None
    assert check_region(" ") is None


async def test_issue11_the_client_and_bulk_checks_use_the_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    from green_tg_async import AsyncGreenTelegram, RateLimits
    from green_tg_async.stores import MemoryStore

    sent: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(200, json={"exist": True, "chatId": "1"})

    monkeypatch.setenv("GREEN_API_PHONE_REGION", "RU")
    async with AsyncGreenTelegram(
        "4100000001",
        "t0ken",
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
        transport=httpx.MockTransport(answer),
    ) as tg:
        assert tg.phone_region == "RU"
        await tg.service.check_account("8 (987) 654-32-10")
        outcomes = [o async for _, o in tg.service.check_accounts(["8 987 654 32 11"])]
    assert sent == [b'{"phoneNumber":79876543210}', b'{"phoneNumber":79876543211}']
    assert not isinstance(outcomes[0], Exception)
