"""The modes' choice among online agents with room: pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime

from sellerdesk.automation.routing.strategies import (
    Candidate,
    Choice,
    Mode,
    TicketFacts,
    choose,
    weight,
)

CHAT_EN = TicketFacts(channel_type="chat", priority="normal", language="en", wants=frozenset())


def agent(agent_id: int, *, chat: int | None = 3, load: int = 0, weighted: int = 0,
          languages: tuple[str, ...] = ("en",), skills: tuple[str, ...] = (),
          last: datetime | None = None) -> Candidate:
    return Candidate(agent_id=agent_id, languages=frozenset(languages), skills=frozenset(skills),
                     capacities={"chat": chat, "email": None}, load={"chat": load},
                     weighted_load=weighted, last_routed_at=last)


def test_round_robin_takes_the_next_agent_after_the_last_one_and_wraps() -> None:
    team = [agent(3), agent(1), agent(2)]

    picks = []
    last = None
    for _ in range(4):
        choice = choose(Mode.ROUND_ROBIN, team, CHAT_EN, last_agent_id=last)
        assert choice is not None
        picks.append(choice.agent_id)
        last = choice.agent_id

    assert picks == [1, 2, 3, 1]


def test_round_robin_skips_a_full_agent_and_an_agent_that_left() -> None:
    team = [agent(1), agent(2, load=3), agent(4)]

    # after agent 2 (full) comes 4; after 3 (gone offline, not a candidate) also 4
    assert choose(Mode.ROUND_ROBIN, team, CHAT_EN, last_agent_id=1) == Choice(4, "next_in_rotation")
    assert choose(Mode.ROUND_ROBIN, team, CHAT_EN, last_agent_id=3) == Choice(4, "next_in_rotation")
    assert choose(Mode.ROUND_ROBIN, team, CHAT_EN, last_agent_id=4) == Choice(1, "next_in_rotation")


def test_load_balanced_picks_the_least_weighted_load() -> None:
    # agent 1 holds one urgent ticket (4), agent 2 three normal ones (3)
    team = [agent(1, load=1, weighted=weight("urgent")), agent(2, load=3, chat=5, weighted=3)]

    assert choose(Mode.LOAD_BALANCED, team, CHAT_EN, last_agent_id=None) == Choice(2, "least_load")


def test_load_balanced_ties_go_to_whoever_waited_longest_then_the_lowest_id() -> None:
    early = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    late = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    assert choose(Mode.LOAD_BALANCED, [agent(1, last=late), agent(2, last=early)], CHAT_EN,
                  last_agent_id=None) == Choice(2, "least_load")
    assert choose(Mode.LOAD_BALANCED, [agent(2), agent(1)], CHAT_EN,
                  last_agent_id=None) == Choice(1, "least_load")


def test_weights_are_urgent_4_high_2_normal_1_low_1() -> None:
    assert [weight(p) for p in ("urgent", "high", "normal", "low")] == [4, 2, 1, 1]


def test_skills_mode_prefers_a_speaker_of_the_tickets_language_even_when_busier() -> None:
    korean = TicketFacts(channel_type="chat", priority="normal", language="ko", wants=frozenset())
    team = [agent(1, weighted=0), agent(2, load=2, weighted=2, languages=("ko", "en"))]

    assert choose(Mode.SKILLS, team, korean, last_agent_id=None) == Choice(2, "speaks_ko")


def test_skills_mode_falls_back_to_the_least_loaded_when_no_speaker_has_room() -> None:
    korean = TicketFacts(channel_type="chat", priority="normal", language="ko", wants=frozenset())
    team = [agent(1, weighted=1), agent(2, load=3, languages=("ko",)), agent(3, weighted=0)]

    assert choose(Mode.SKILLS, team, korean, last_agent_id=None) == Choice(3, "no_ko_speaker_free")


def test_skills_mode_then_counts_matching_skills() -> None:
    returns = TicketFacts(channel_type="email", priority="high", language="pl",
                          wants=frozenset({"returns", "allegro"}))
    team = [agent(1, languages=("pl",), skills=("returns",)),
            agent(2, languages=("pl",), skills=("returns", "allegro"), weighted=9),
            agent(3, languages=("en",), skills=("returns", "allegro"))]

    assert choose(Mode.SKILLS, team, returns, last_agent_id=None) == Choice(2, "speaks_pl+2_skills")


def test_capacity_is_per_channel_type_and_none_is_unlimited() -> None:
    full_on_chat = agent(1, chat=3, load=3)
    email = TicketFacts(channel_type="email", priority="normal", language=None, wants=frozenset())

    assert choose(Mode.ROUND_ROBIN, [full_on_chat], CHAT_EN, last_agent_id=None) is None
    assert choose(Mode.ROUND_ROBIN, [full_on_chat], email, last_agent_id=None) == Choice(
        1, "next_in_rotation")
    assert choose(Mode.ROUND_ROBIN, [agent(1, chat=0)], CHAT_EN, last_agent_id=None) is None


def test_manual_mode_and_an_empty_team_choose_nobody() -> None:
    assert choose(Mode.MANUAL, [agent(1)], CHAT_EN, last_agent_id=None) is None
    assert choose(Mode.LOAD_BALANCED, [], CHAT_EN, last_agent_id=None) is None
