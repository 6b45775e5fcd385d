"""Finding accounts (server/auth/service.py, list_users): words in the username or name, an
agency, a page at a time, and how many match in all; on SQLite and PostgreSQL."""

from __future__ import annotations

from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.auth.schemas import UserCreate
from server.auth.service import AccountSearch, count_users, create_user, list_users
from server.db import Database


def test_accounts_are_found_by_words_and_agency_a_page_at_a_time(db: Database) -> None:
    with db.session() as s:
        agencies.create(s, actor="t", new=AgencyCreate(id="kemenko-pmk", name="PMK"))
        for i in range(23):
            create_user(
                s,
                actor="t",
                new=UserCreate(
                    username=f"asn-{i:02d}",
                    password="p" * 12,
                    display_name=f"Pegawai {i:02d}",
                    agency="kemenko-pmk" if i % 2 else None,
                ),
            )
        create_user(
            s,
            actor="t",
            new=UserCreate(username="dewi", password="p" * 12, display_name="Dewi Lestari 100%"),
        )
    with db.session(commit=False) as s:
        every = AccountSearch()
        assert count_users(s, every) == 24
        first = list_users(s, AccountSearch(limit=10))
        second = list_users(s, AccountSearch(offset=10, limit=10))
        assert [u.username for u in first][:2] == ["asn-00", "asn-01"]
        assert len(second) == 10 and second[0].username == "asn-10"
        pmk = AccountSearch(agency="kemenko-pmk")
        assert count_users(s, pmk) == 11
        assert {u.agency for u in list_users(s, pmk)} == {"kemenko-pmk"}
        assert [u.username for u in list_users(s, AccountSearch("LESTARI"))] == ["dewi"]
        assert [u.username for u in list_users(s, AccountSearch("pegawai 07"))] == ["asn-07"]
        # A wildcard typed is a character looked for, never "anything".
        assert [u.username for u in list_users(s, AccountSearch("100%"))] == ["dewi"]
        assert count_users(s, AccountSearch("%")) == 1  # only the name that has one
        assert count_users(s, AccountSearch("_")) == 0
        assert count_users(s, AccountSearch("zz-nobody")) == 0
