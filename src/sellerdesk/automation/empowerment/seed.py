"""The default escalation tree, built from the retailer guidelines of ABCD, and the
pre-approved actions, macros and team it needs.

Source: the Action-Based Conversations Dataset (ABCD), Chen et al., NAACL 2021,
asappresearch/abcd @6b8700c — its agent guidelines (data/guidelines.json) and ontology
(data/ontology.json), MIT License, Copyright (c) 2021 ASAPP Research; the license and the
source note are copied next to the data in this package's data/ folder.

The tree is the "Product Defect" flow of those guidelines (refunds and returns), read from
the JSON every time it is installed, so the same files always give the same tree:
- the kind of request: a return, the status of a refund, or a complaint about a refund;
- for a return, the membership level (levels from the ontology) and that level's return
  privileges from "Membership Privileges" (gold: unlimited; others: a purchase window,
  a receipt, original packaging — each a question, in the guidelines' order);
- when the return is allowed, the refund method from "Initiate Refund" → refund to the card
  or by check (a pre-approved refund) or gift card / account value (a pre-approved store
  credit); when it is not, apologise ("Return not possible" macro) or, if the customer does
  not accept that, escalate to a manager as "Refund Status" says (the store's first
  manager, else owner or admin, else an "Escalations" team).
English texts are the guidelines'; Korean and Polish are ours.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store, Team
from sellerdesk.automation.empowerment import actions, walks
from sellerdesk.automation.empowerment.errors import TreeError
from sellerdesk.automation.empowerment.models import EscalationTree, PreApprovedAction
from sellerdesk.automation.macros import actions as macro_actions
from sellerdesk.automation.macros.models import Macro
from sellerdesk.core.actor import SYSTEM, Actor
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, NotFound

TREE_NAME = "Return or refund request (ABCD guidelines)"
TEAM_NAME = "Escalations"
FLOW = "Product Defect"
RETURN_SUBFLOWS = ("Return Due to Stain", "Return Due to Color", "Return Due to Size")


class SeedDataError(ValueError):
    """The guideline files do not have the shape this loader reads."""


@dataclass(frozen=True, slots=True)
class Privilege:
    """A membership level's return rule, as the guidelines state it."""

    level: str
    unlimited: bool
    window: tuple[int, str] | None  # (6, "months")
    receipt: bool
    packaging: bool


def _data(name: str) -> Any:
    path = resources.files("sellerdesk.automation.empowerment") / "data" / name
    return json.loads(path.read_text(encoding="utf-8"))


def _action(subflow: dict[str, Any], button: str) -> dict[str, Any]:
    for item in subflow["actions"]:
        if item["button"] == button:
            found: dict[str, Any] = item
            return found
    raise SeedDataError(f"no [{button}] step in the guidelines' subflow")


def _subflow(guidelines: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = guidelines[FLOW]["subflows"][name]
    except KeyError:
        raise SeedDataError(f"the guidelines have no {FLOW!r} / {name!r} subflow") from None
    return found


_LEVEL = re.compile(r"^(\w+) members:\s*>\s*(.+)$")
_WINDOW = re.compile(r"within the last (\d+) (days|months)")


def parse_privileges(guidelines: dict[str, Any], levels: list[str]) -> list[Privilege]:
    """Each level's return rule from the return subflows' [Membership Privileges] step
    (the three subflows must agree), in the guidelines' order."""
    texts = [_action(_subflow(guidelines, s), "Membership Privileges")["subtext"]
             for s in RETURN_SUBFLOWS]
    if any(t != texts[0] for t in texts):
        raise SeedDataError("the return subflows state different membership privileges")
    result = []
    for line in texts[0]:
        match = _LEVEL.match(line.strip())
        if match is None:
            continue
        level, rule = match.group(1).casefold(), match.group(2)
        if level not in levels:
            raise SeedDataError(f"membership level {level!r} is not in the ontology")
        window = _WINDOW.search(rule)
        result.append(Privilege(
            level=level, unlimited="unlimited returns" in rule,
            window=(int(window.group(1)), window.group(2)) if window else None,
            receipt="receipt" in rule, packaging="original packaging" in rule))
    if sorted(p.level for p in result) != sorted(levels):
        raise SeedDataError("the guidelines do not give a return rule for every level")
    return result


def parse_refund_methods(guidelines: dict[str, Any]) -> list[str]:
    """The refund methods of "Initiate Refund" → [Record Reason]: 'Gift card', ..."""
    lines = _action(_subflow(guidelines, "Initiate Refund"), "Record Reason")["subtext"]
    methods = [line.split(" - ", 1)[0].strip() for line in lines if " - " in line]
    if not methods:
        raise SeedDataError("no refund methods under Initiate Refund")
    return methods


# --- texts: the guidelines' English, our Korean and Polish ------------------------------------

LEVEL_NAMES = {"gold": ("Gold", "골드", "Złoty"), "silver": ("Silver", "실버", "Srebrny"),
               "bronze": ("Bronze", "브론즈", "Brązowy"), "guest": ("Guest", "게스트", "Gość")}
METHODS = {  # method → (answer id, en, ko, pl, outcome)
    "gift card": ("gift_card", "Gift card", "기프트 카드", "Karta podarunkowa", "credit"),
    "add value": ("account_value", "Add value to the account", "계정 적립금",
                  "Doładowanie konta", "credit"),
    "paper check": ("paper_check", "Paper check", "수표", "Czek", "refund"),
    "credit card": ("credit_card", "Credit card", "신용카드", "Karta kredytowa", "refund"),
}
YES = {"en": "Yes", "ko": "예", "pl": "Tak"}
NO = {"en": "No", "ko": "아니요", "pl": "Nie"}


def _window_text(count: int, unit: str) -> dict[str, str]:
    if unit == "months":
        pl_unit = "miesiąc" if count == 1 else (
            "miesiące" if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14)
            else "miesięcy")
        return {"en": f"{count} months", "ko": f"{count}개월", "pl": f"{count} {pl_unit}"}
    return {"en": f"{count} days", "ko": f"{count}일",
            "pl": f"{count} {'dzień' if count == 1 else 'dni'}"}


def _yes_no(node: str, text: dict[str, str], yes: str, no: str) -> dict[str, Any]:
    return {"id": node, "kind": "question", "text": text,
            "answers": [{"id": "yes", "label": YES, "next": yes},
                        {"id": "no", "label": NO, "next": no}]}


@dataclass(frozen=True, slots=True)
class Refs:
    refund_action: int
    credit_action: int
    refused_macro: int
    escalate_to: dict[str, int]  # {"assignee_id": ...} or {"team_id": ...}


def build_nodes(guidelines: dict[str, Any], ontology: dict[str, Any], refs: Refs
                ) -> list[dict[str, Any]]:
    """The tree's nodes from the guideline files; the same files give the same nodes."""
    levels = list(ontology["values"]["enumerable"]["membership_level"])
    privileges = parse_privileges(guidelines, levels)
    methods = parse_refund_methods(guidelines)
    status = _subflow(guidelines, "Refund Status")
    notify = _action(status, "Notify Internal Team")
    communicate = next(a for a in status["actions"] if a["type"] == "communication")
    membership = _action(_subflow(guidelines, RETURN_SUBFLOWS[0]), "Membership Privileges")
    ending = _action(_subflow(guidelines, RETURN_SUBFLOWS[0]), "End Conversation")
    refused_en = next(s for s in ending["subtext"] if "cannot return" in s)

    nodes: list[dict[str, Any]] = [
        {"id": "request", "kind": "question",
         "text": {"en": f"{FLOW} ({guidelines[FLOW]['description']}): what does the customer "
                        "want?",
                  "ko": "제품 불량(환불 및 반품): 고객이 원하는 것은 무엇인가요?",
                  "pl": "Wada produktu (zwroty i refundacje): czego chce klient?"},
         "answers": [
             {"id": "return", "next": "membership",
              "label": {"en": "Return an item (stain, color or size)",
                        "ko": "상품 반품 (얼룩, 색상 또는 사이즈)",
                        "pl": "Zwrot towaru (plama, kolor lub rozmiar)"}},
             {"id": "refund_status", "next": "refund_status",
              "label": {"en": "The status of a refund", "ko": "환불 진행 상황",
                        "pl": "Status refundacji"}},
             {"id": "refund_unhappy", "next": "escalate_manager",
              "label": {"en": notify["text"],
                        "ko": "고객이 답변에 만족하지 않고 환불을 변경하려고 함",
                        "pl": "Klient nie jest zadowolony z odpowiedzi i chce zmienić "
                              "refundację"}},
         ]},
        {"id": "membership", "kind": "question",
         "text": {"en": membership["text"],
                  "ko": "회원 등급을 확인하여 주문을 반품할 수 있는지 확인하세요.",
                  "pl": "Sprawdź poziom członkostwa klienta, aby potwierdzić, że zamówienie "
                        "można zwrócić."},
         "answers": [{"id": p.level, "next": "refund_method" if p.unlimited
                      else _first_check(p),
                      "label": dict(zip(("en", "ko", "pl"), LEVEL_NAMES[p.level],
                                        strict=True))}
                     for p in privileges]},
    ]
    for p in privileges:
        if not p.unlimited:
            nodes += _checks(p)
    nodes += [
        {"id": "refund_method", "kind": "question",
         "text": {"en": "The return is allowed. How does the customer want the refund?",
                  "ko": "반품이 가능합니다. 고객이 원하는 환불 방법은 무엇인가요?",
                  "pl": "Zwrot jest możliwy. W jaki sposób klient chce otrzymać pieniądze?"},
         "answers": [_method_answer(m) for m in methods]},
        {"id": "refund", "kind": "outcome",
         "text": {"en": "Refund the purchase through the pre-approved refund.",
                  "ko": "사전 승인된 환불로 구매 금액을 환불하세요.",
                  "pl": "Zwróć pieniądze w ramach wstępnie zatwierdzonej refundacji."},
         "outcome": {"type": "action", "action_id": refs.refund_action}},
        {"id": "store_credit", "kind": "outcome",
         "text": {"en": "Give the amount as store credit (gift card or account value).",
                  "ko": "금액을 스토어 크레딧(기프트 카드 또는 계정 적립금)으로 지급하세요.",
                  "pl": "Przyznaj kwotę jako środki w sklepie (karta podarunkowa lub "
                        "doładowanie konta)."},
         "outcome": {"type": "action", "action_id": refs.credit_action}},
        {"id": "return_refused", "kind": "question",
         "text": {"en": f"The return is not possible: {refused_en} Does the customer accept "
                        "this?",
                  "ko": "반품이 불가능합니다. 사과하고 이유를 설명하세요. 고객이 받아들이나요?",
                  "pl": "Zwrot nie jest możliwy: przeproś i wyjaśnij powód. Czy klient to "
                        "akceptuje?"},
         "answers": [{"id": "yes", "label": YES, "next": "return_declined"},
                     {"id": "no", "label": NO, "next": "escalate_manager"}]},
        {"id": "return_declined", "kind": "outcome",
         "text": {"en": "Send the apology and close the conversation.",
                  "ko": "사과 메시지를 보내고 대화를 종료하세요.",
                  "pl": "Wyślij przeprosiny i zakończ rozmowę."},
         "outcome": {"type": "resolve", "macro_id": refs.refused_macro}},
        {"id": "refund_status", "kind": "outcome",
         "text": {"en": f"{communicate['text']}: " + "; ".join(communicate["subtext"]),
                  "ko": "고객에게 환불 상태(시작 전, 진행 중, 완료)와 환불 신청 방법(온라인, "
                        "전화, 채팅)을 알려주세요.",
                  "pl": "Podaj klientowi status refundacji (nierozpoczęta, w toku, "
                        "zakończona) i sposób, w jaki ją zlecił (online, telefonicznie, "
                        "na czacie)."},
         "outcome": {"type": "advice"}},
        {"id": "escalate_manager", "kind": "outcome",
         "text": {"en": notify["subtext"][0].split(">")[-1].strip(),
                  "ko": "관리자에게 이관했다고 고객에게 설명하세요.",
                  "pl": "Wyjaśnij klientowi, że sprawa została przekazana kierownikowi."},
         "outcome": {"type": "escalate", **refs.escalate_to, "priority": "high"}},
    ]
    return nodes


def _first_check(p: Privilege) -> str:
    if p.window:
        return f"{p.level}_window"
    if p.receipt:
        return f"{p.level}_receipt"
    if p.packaging:
        return f"{p.level}_packaging"
    return "return_refused"


def _checks(p: Privilege) -> list[dict[str, Any]]:
    """Window, receipt, packaging in turn: any "yes" allows the return."""
    steps: list[tuple[str, dict[str, str]]] = []
    if p.window:
        span = _window_text(*p.window)
        steps.append((f"{p.level}_window", {
            "en": f"Was the item bought within the last {span['en']}?",
            "ko": f"최근 {span['ko']} 이내에 구매한 상품인가요?",
            "pl": f"Czy towar kupiono w ciągu ostatnich {span['pl']}?"}))
    if p.receipt:
        steps.append((f"{p.level}_receipt", {
            "en": "Does the customer have a receipt?", "ko": "고객에게 영수증이 있나요?",
            "pl": "Czy klient ma paragon?"}))
    if p.packaging:
        steps.append((f"{p.level}_packaging", {
            "en": "Is the item in its original packaging?", "ko": "상품이 원래 포장 상태인가요?",
            "pl": "Czy towar jest w oryginalnym opakowaniu?"}))
    nodes = []
    for i, (node_id, text) in enumerate(steps):
        otherwise = steps[i + 1][0] if i + 1 < len(steps) else "return_refused"
        nodes.append(_yes_no(node_id, text, "refund_method", otherwise))
    return nodes


def _method_answer(method: str) -> dict[str, Any]:
    key = method.casefold()
    if key not in METHODS:
        raise SeedDataError(f"unknown refund method {method!r} in the guidelines")
    answer_id, en, ko, pl, outcome = METHODS[key]
    return {"id": answer_id, "label": {"en": en, "ko": ko, "pl": pl},
            "next": "refund" if outcome == "refund" else "store_credit"}


# --- what the tree refers to -------------------------------------------------------------------

GREETING = {
    "en": "Hello{% if customer.first_name %} {{ customer.first_name }}{% endif %},\n\n",
    "ko": "{% if customer.name %}{{ customer.name }} 님, {% endif %}안녕하세요.\n\n",
    "pl": "Dzień dobry{% if customer.first_name %} {{ customer.first_name }}{% endif %},\n\n",
}
SIGNATURE = {"en": "\n\nKind regards,\n{{ store.name }}",
             "ko": "\n\n감사합니다.\n{{ store.name }} 드림",
             "pl": "\n\nPozdrawiamy,\n{{ store.name }}"}
MACROS: dict[str, dict[str, str]] = {
    "Refund granted": {
        "en": "we have approved your refund. You will see it on your original payment "
              "method within a few business days.",
        "ko": "환불이 승인되었습니다. 영업일 기준 며칠 내에 원래 결제 수단으로 환불됩니다.",
        "pl": "zatwierdziliśmy zwrot pieniędzy. Środki wrócą na pierwotną metodę płatności "
              "w ciągu kilku dni roboczych.",
    },
    "Store credit granted": {
        "en": "we have added store credit to your account. You can use it on your next "
              "order.",
        "ko": "고객님의 계정에 스토어 크레딧이 적립되었습니다. 다음 주문 시 사용하실 수 "
              "있습니다.",
        "pl": "dodaliśmy środki do Twojego konta w sklepie. Możesz je wykorzystać przy "
              "następnym zamówieniu.",
    },
    "Return not possible": {
        "en": "we are sorry, but this item can no longer be returned under our return "
              "policy. Thank you for your understanding.",
        "ko": "죄송하지만 이 상품은 반품 정책에 따라 더 이상 반품할 수 없습니다. 양해해 주셔서 "
              "감사합니다.",
        "pl": "przykro nam, ale zgodnie z naszymi zasadami zwrotów tego towaru nie można już "
              "zwrócić. Dziękujemy za wyrozumiałość.",
    },
}
MACRO_STATUS = {"Return not possible": "solved"}


async def _macro(db: AsyncSession, store_id: int, name: str, actor: Actor) -> Macro:
    found = await db.scalar(select(Macro).where(Macro.store_id == store_id, Macro.name == name))
    if found is not None:
        return found
    variants = {lang: GREETING[lang] + body + SIGNATURE[lang]
                for lang, body in MACROS[name].items()}
    status = MACRO_STATUS.get(name)
    return await macro_actions.create_macro(
        db, store_id=store_id, actor=actor, name=name, variants=variants,
        description="Installed with the default escalation tree",
        actions={"status": status} if status else {})


async def _escalation_target(db: AsyncSession, store_id: int, actor: Actor
                             ) -> dict[str, int]:
    """The guidelines escalate to "the manager": the store's first active manager (else its
    first owner or admin); a store without any gets an Escalations team instead."""
    for role in ("manager", "owner", "admin"):
        agent_id = await db.scalar(select(Agent.id).where(
            Agent.store_id == store_id, Agent.role == role, Agent.is_active.is_(True))
            .order_by(Agent.id).limit(1))
        if agent_id is not None:
            return {"assignee_id": agent_id}
    team = await db.scalar(select(Team).where(Team.store_id == store_id,
                                              Team.name == TEAM_NAME))
    if team is None:
        team = await accounts.create_team(db, store_id=store_id, name=TEAM_NAME, actor=actor)
    return {"team_id": team.id}


async def _action_named(db: AsyncSession, store_id: int, name: str) -> PreApprovedAction | None:
    return await db.scalar(select(PreApprovedAction).where(
        PreApprovedAction.store_id == store_id, PreApprovedAction.name == name))


async def install_default_actions(
    db: AsyncSession, *, store_id: int, currency: str = "EUR", actor: Actor = SYSTEM
) -> list[PreApprovedAction]:
    """Refund (agents up to 30, managers up to 200, 2 per customer in 30 days), store
    credit (up to 50, once per customer in 30 days) and reship (once per ticket), each with
    its macro; existing actions of those names are kept as they are."""
    refund_macro = await _macro(db, store_id, "Refund granted", actor)
    credit_macro = await _macro(db, store_id, "Store credit granted", actor)
    specs: list[dict[str, Any]] = [
        {"name": "Refund", "kind": "refund", "currency": currency,
         "max_amount": Decimal(30), "macro_id": refund_macro.id,
         "description": "Refund a purchase up to 30 (managers up to 200)",
         "limits_": [{"kind": "role", "role": "agent", "max_amount": Decimal(30)},
                     {"kind": "role", "role": "manager", "max_amount": Decimal(200)},
                     {"kind": "customer", "count": 2, "period_days": 30}]},
        {"name": "Store credit", "kind": "credit", "currency": currency,
         "max_amount": Decimal(50), "macro_id": credit_macro.id,
         "description": "Credit to the customer's account or a gift card, up to 50",
         "limits_": [{"kind": "customer", "count": 1, "period_days": 30}]},
        {"name": "Reship", "kind": "reship",
         "description": "Send the order again, once per ticket",
         "limits_": [{"kind": "ticket", "count": 1}]},
    ]
    result = []
    for spec in specs:
        existing = await _action_named(db, store_id, spec["name"])
        result.append(existing or await actions.add_action(db, store_id=store_id,
                                                           actor=actor, **spec))
    await commit(db)
    return result


async def install_default_tree(
    db: AsyncSession, *, store_id: int, currency: str = "EUR", actor: Actor = SYSTEM
) -> EscalationTree:
    """The ABCD return/refund tree with the actions, macros and team it names (created when
    missing); refused when the store has a tree of that name."""
    if await db.get(Store, store_id) is None:
        raise NotFound("store.not_found", f"store {store_id} not found", field="store_id")
    if await db.scalar(select(EscalationTree.id).where(
            EscalationTree.store_id == store_id, EscalationTree.name == TREE_NAME)) is not None:
        raise Conflict(TreeError.DEFAULT_EXISTS, f"this store has a tree {TREE_NAME!r} "
                       "already; edit it instead", field="store_id")
    guidelines, ontology = _data("guidelines.json"), _data("ontology.json")
    refund, credit, _ = await install_default_actions(db, store_id=store_id, currency=currency,
                                                      actor=actor)
    refused = await _macro(db, store_id, "Return not possible", actor)
    nodes = build_nodes(guidelines, ontology,
                        Refs(refund_action=refund.id, credit_action=credit.id,
                             refused_macro=refused.id,
                             escalate_to=await _escalation_target(db, store_id, actor)))
    return await walks.create_tree(
        db, store_id=store_id, actor=actor, name=TREE_NAME, nodes=nodes,
        description="Returns and refunds after the ABCD retailer guidelines (Product "
                    "Defect flow; MIT License, ASAPP Research)")
