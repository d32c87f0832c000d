"""Match a citizen's free-text question to a procedure or topic of the catalogue.

Two stages, both over text normalised by ``normalize.py``:

1. **Prefilter** (inverted index, IDF weights): every entry sharing a word with the
   question gets the summed IDF of the shared words; the best few dozen go on. With
   a province's 6,000 procedures this keeps the fuzzy stage to ~40 entries. Words
   common to thousands of entries ("đăng ký", "cấp") only re-weight entries that a
   rarer word already found, so their long posting lists are not walked for nothing.
2. **Re-rank** each candidate alias with two scorers combined:
   - an IDF-weighted overlap, as an F-measure of "how much of the alias the question
     names" (recall) and "how much of the question the entry explains" (precision).
     Unlike ``token_set_ratio`` a subset does not score 100 in both directions:
     "tạm trú" fully names "đăng ký tạm trú" but only half of "gia hạn tạm trú";
   - rapidfuzz ``token_sort_ratio`` for what word overlap misses (typos that
     survived correction, word order), which also breaks ties that ``WRatio`` would
     leave on short queries.

The top entry is then *accepted* or refused on a support score: the rank score, or
higher when a whole alias ("đăng ký kết hôn") or its core without generic verbs
("khai sinh") appears as a phrase, because then extra words around it ("… tuần sau
được không") matter less. A question whose shared words come only in reversed order
("đói quá" vs "quá đời") loses part of its score. Channel words ("trực tuyến",
"bưu chính") weigh less when measuring how much of the question an entry explains.

Unknown words in the question weigh as much as the rarest catalogue word: "giá vàng
hôm nay" shares only "vàng" (tạm vắng) with the catalogue, so it scores low and is
refused. Typos are corrected word by word against the catalogue vocabulary
(rapidfuzz ``ratio``), and run-together words ("khaisinh") are split.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from operator import itemgetter
from typing import Literal

from rapidfuzz import fuzz, process

from bot.services.faq.catalogue import Catalogue, Entry, Procedure, Topic
from bot.services.faq.cues import (
    COST_PHRASES,
    ENGLISH_CUES,
    FRAME_CUES,
    INTENT_PHRASES,
    SIBLING_RULES,
    SITUATION_CUES,
)
from bot.services.faq.normalize import (
    CONTRAST_WORDS,
    COURTESY_TAIL,
    ERRAND_WORDS,
    FILLER_WORDS,
    GENERIC_WORDS,
    MODIFIER_WORDS,
    OFF_TOPIC_WORDS,
    expand_phrases,
    is_smalltalk,
    strip_courtesy,
    tokens_of,
)

MatchKind = Literal["procedure", "topic", "none", "greeting", "thanks"]

_NATIONAL_CODE = re.compile(r"\b\d\.\d{6}\b")


@dataclass(frozen=True)
class MatcherConfig:
    """Thresholds tuned on the ``tune`` split of benchmarks/data/faq_labelled.jsonl."""

    min_score: float = 60.0  # below: "not sure" (kind none)
    confident_score: float = 75.0  # at or above, with a clear gap: one answer
    # Top two (by support) closer than this: ask which one. Supports of the best few
    # spread wider than rank scores, so "bằng lái" (renew 90, lost 83) still asks.
    ambiguity_gap: float = 8.0
    max_candidates: int = 25
    max_alternatives: int = 3
    typo_cutoff: float = 80.0  # rapidfuzz ratio needed to correct a word
    # <1: words of the question the entry cannot explain count more than alias words
    # the question leaves out (citizens abbreviate; off-topic questions add words)
    recall_beta: float = 0.75
    # When a whole multi-word alias appears as a phrase in the question ("… đăng ký
    # kết hôn tuần sau được không"), extra words around it matter much less.
    phrase_recall_beta: float = 2.0
    # Weight of channel words ("trực tuyến", "bưu chính") when measuring how much of
    # the question an entry explains.
    modifier_weight: float = 0.3
    # Like phrase_recall_beta, for an alias's core (without "đăng ký", "cấp"…);
    # 0 disables core phrases.
    core_recall_beta: float = 1.25
    # Words allowed inside a named phrase ("chấm dứt việc giám hộ").
    phrase_gap: int = 1
    # Share of the score lost when the question has the alias's words only in the
    # opposite order ("đói quá" is not "quá đời"; "nuôi chó con" is not "con nuôi").
    order_penalty: float = 0.45
    fuzzy_weight: float = 0.1
    # The best few by rank are re-ordered by support (a whole alias or its core named
    # as a phrase is stronger evidence than many shared words): "đăng ký hộ khẩu cho
    # con mới sinh" names "đăng ký hộ khẩu", not "khai sinh". 0 or 1 disables it.
    rerank_top: int = 4
    # Share of the score an entry loses for each contrast word of the question (an
    # operation such as "lại" = re-issue) that none of its names and aliases contain:
    # "cấp lại sổ đỏ" is not the first issue of "cấp sổ đỏ".
    contrast_penalty: float = 0.2
    # A one-word alias names its entry (for topics yielding to procedures) when at most
    # this many entries use the word.
    rare_df: int = 3
    # A named procedure with at least this support takes the place of a topic.
    topic_yield_score: float = 45.0
    contrast_words: frozenset[str] = CONTRAST_WORDS
    # Share of the score an entry loses for each everyday-errand word of the question
    # ("tiền điện", "bệnh viện", "giá vàng": see OFF_TOPIC_WORDS) that it never uses,
    # unless one of its phrases is named ("làm khai sinh ở bệnh viện" is still khai sinh).
    offtopic_penalty: float = 0.25
    offtopic_words: frozenset[str] = OFF_TOPIC_WORDS
    # Errands done with a document ("giá nhà có sổ hồng", "cập nhật căn cước cho sim"):
    # off-topic words that count even when a whole alias is named.
    errand_words: frozenset[str] = ERRAND_WORDS
    errand_penalty: float = 0.4  # per errand word, instead of offtopic_penalty
    # Strongest evidence: a distinctive phrase (an alias or its core weighing at least
    # evidence_weight of the rarest word's IDF) named in the question gives its entry
    # at least this support, however many story words surround it ("bé nhà em sinh ở
    # bv tỉnh giờ về xã khai sinh đc ko"); contrast, off-topic and errand penalties
    # still apply to it. Just above min_score and below confident_score: the citizen
    # is offered the entry as a choice, not told the answer. 0 disables it.
    evidence_floor: float = 64.0
    evidence_weight: float = 0.8
    # Weight of a word the catalogue never uses, as a share of the rarest word's IDF
    # (off-topic words always weigh the full IDF): names of places and hospitals and
    # the details of a story ("sinh ở bệnh viện Từ Dũ") are not a sign of another topic.
    unknown_weight: float = 0.7
    # Situation cues (cues.py): a cue of an entry named in a question that carries an
    # administrative intent ("làm giấy", "đăng ký", "xã", "công an") and no errand word
    # gives the entry at least cue_floor (just above min_score: answered or offered
    # as a choice, never confident, and below evidence_floor so that a named phrase
    # wins over a cue), cue_step more for each further cue (to break ties between cue
    # entries), at most cue_cap (below evidence_floor). Contrast
    # penalties apply; off-topic ones only to a cue that carries its own intent, when
    # the question has none, and never for words of the entry's own cues ("chạy xe ôm"
    # is a cue of the Covid aid). 0 disables cues.
    cue_floor: float = 62.0
    cue_step: float = 0.5
    cue_cap: float = 63.0
    # A question about what something costs with no administrative intent ("xây nhà
    # cấp 4 hết bao nhiêu tiền") asks the price of the thing, not the fee of its paper.
    cost_penalty: float = 0.8
    # share of precision measured on the alias itself (the rest: on the whole entry)
    alias_precision_share: float = 0.5
    common_df_fraction: float = 0.05  # words in more entries than this only re-weight
    posting_walk_limit: int = 400  # entries read per word at most (impact-ordered)
    typo_cache_size: int = 4096


@dataclass(frozen=True)
class MatchResult:
    kind: MatchKind
    best: Entry | None
    score: float
    alternatives: tuple[tuple[Entry, float], ...]
    confident: bool
    ambiguous: bool
    normalized: str = ""


@dataclass(frozen=True)
class _Alias:
    text: str
    tokens: frozenset[str]
    weight: float  # summed IDF of its tokens
    pairs: tuple[tuple[str, str], ...]  # consecutive words, for word-order checks
    core: str | None  # the alias without generic words, when that leaves 2+ words


@dataclass(frozen=True)
class _IndexedEntry:
    entry: Entry
    aliases: tuple[_Alias, ...]
    vocabulary: frozenset[str]


def entry_phrases(entry: Entry) -> list[str]:
    """The texts an entry is known by: names in both languages and every alias."""
    if isinstance(entry, Procedure):
        return [entry.name_vi, *name_variants(entry.name_vi), entry.name_en, *entry.aliases]
    return [entry.title_vi, entry.title_en, *entry.aliases]


def name_variants(name: str) -> list[str]:
    """The procedures an official name lists with commas, each on its own.

    "Cấp đổi, cấp lại thẻ Căn cước công dân" names two procedures that share the object
    after the last alternative: "Cấp đổi thẻ Căn cước công dân" and "cấp lại thẻ Căn cước
    công dân". Citizens ask for one of them, so each should be a phrase of its own. The
    alternatives are taken to be verbs of at most two words (as in official names: cấp
    đổi, cải chính, bổ sung, chuyển nhượng); lists of objects ("nhận cha, mẹ, con") or
    long items are left alone.
    """
    items = [part.strip() for part in name.split(",")]
    if len(items) < 2 or any(not part for part in items):
        return []
    if any(len(part.split()) > 4 for part in items[:-1]):
        return []
    last = items[-1].split()
    verb = min(2, len(items[-2].split()))
    tail = last[verb:]
    if len(tail) < 2:
        return []
    return [f"{part} {' '.join(tail)}" for part in items[:-1]] + [items[-1]]


class Matcher:
    """Built once per catalogue (index and IDF), then ``match`` is read-only but for a
    small bounded cache of typo corrections owned by the instance."""

    def __init__(self, catalogue: Catalogue, config: MatcherConfig | None = None) -> None:
        self.catalogue = catalogue
        self.config = config or MatcherConfig()
        raw: list[tuple[Entry, list[tuple[str, frozenset[str]]]]] = []
        df: dict[str, int] = {}
        for entry in catalogue.entries:
            seen_texts: set[str] = set()
            aliases: list[tuple[str, frozenset[str]]] = []
            for phrase in entry_phrases(entry):
                toks = tokens_of(phrase)
                text = " ".join(toks)
                if toks and text not in seen_texts:
                    seen_texts.add(text)
                    aliases.append((text, frozenset(toks)))
            raw.append((entry, aliases))
            for tok in set().union(*(a[1] for a in aliases)) if aliases else set():
                df[tok] = df.get(tok, 0) + 1
        n = max(len(raw), 1)
        self._idf: dict[str, float] = {tok: math.log(1.0 + n / count) for tok, count in df.items()}
        # An off-topic word is as telling as the rarest known one (it is never shared);
        # another unknown word (a place, a hospital's name, an uncorrected typo) less.
        self._offtopic_idf = math.log(1.0 + n / 0.5)
        self._unknown_idf = self._offtopic_idf * self.config.unknown_weight
        self._entries: list[_IndexedEntry] = []
        postings: dict[str, list[int]] = {}
        for index, (entry, aliases) in enumerate(raw):
            built = tuple(
                _Alias(
                    text, toks, sum(self._idf[t] for t in toks), _pairs(text.split()), _core(text)
                )
                for text, toks in aliases
            )
            vocabulary = frozenset().union(*(a.tokens for a in built)) if built else frozenset()
            self._entries.append(_IndexedEntry(entry, built, vocabulary))
            for tok in vocabulary:
                postings.setdefault(tok, []).append(index)
        # Impact order: entries with the lightest (shortest) alias first, because a
        # question made only of common words ("cấp giấy") is best explained by the
        # shortest names; the walk of a long list can then stop early.
        lightest = [min((a.weight for a in e.aliases), default=0.0) for e in self._entries]
        self._postings: dict[str, tuple[int, ...]] = {
            t: tuple(sorted(ix, key=lightest.__getitem__)) for t, ix in postings.items()
        }
        # Typo candidates grouped by first letter: a typo rarely hits the first letter,
        # and searching one group is ~20x cheaper than the whole vocabulary.
        by_initial: dict[str, list[str]] = {}
        for tok in sorted(self._idf):
            by_initial.setdefault(tok[0], []).append(tok)
        self._vocabulary_by_initial: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in by_initial.items()
        }
        self._common_df = max(50, int(n * self.config.common_df_fraction))
        self._by_code: dict[str, Entry] = {
            p.national_code: p for p in catalogue.procedures if p.national_code
        }
        self._typo_cache: OrderedDict[str, str | None] = OrderedDict()
        self._build_cues()

    def _build_cues(self) -> None:
        """Index the situation cues of the catalogue's entries by their first word."""
        by_id = {item.entry.id: index for index, item in enumerate(self._entries)}
        self._cues: dict[str, list[_Cue]] = {}
        self._cue_vocabulary: dict[int, frozenset[str]] = {}
        self._cue_offtopic: dict[str, frozenset[str]] = {}
        cue_words: set[str] = set()
        for entry_id in SITUATION_CUES.keys() | ENGLISH_CUES.keys():
            index = by_id.get(entry_id)
            if index is None:
                continue
            vocabulary: set[str] = set()
            texts = [(t, None) for t in SITUATION_CUES.get(entry_id, ())]
            texts += [(t, True) for t in ENGLISH_CUES.get(entry_id, ())]
            for text, english in texts:
                strong = text.startswith("!")
                parts = tuple(
                    tuple(tokens_of(part, english=english)) for part in text.lstrip("!").split("+")
                )
                if not parts or not all(parts) or not _distinctive(parts):
                    continue
                cue = _Cue(index, strong, parts, text)
                self._cues.setdefault(parts[0][0], []).append(cue)
                for part in parts:
                    vocabulary.update(part)
            self._cue_vocabulary[index] = frozenset(vocabulary)
            self._cue_offtopic[entry_id] = frozenset(vocabulary) & (
                self.config.offtopic_words - self.config.errand_words
            )
            cue_words |= vocabulary
        # Words of cues are known words: not "corrected" into catalogue words.
        self._cue_words = frozenset(cue_words)
        self._intent = frozenset(tuple(p.split()) for p in INTENT_PHRASES)
        self._cost = frozenset(tuple(p.split()) for p in COST_PHRASES)
        self._build_siblings()
        self._frames: list[tuple[int, tuple[tuple[str, ...], ...]]] = [
            (by_id[entry_id], parts)
            for entry_id, texts in FRAME_CUES.items()
            if entry_id in by_id
            for text in texts
            if (parts := tuple(tuple(tokens_of(p, drop_fillers=False)) for p in text.split("+")))
            and all(parts)
        ]

    def _build_siblings(self) -> None:
        """Index the sibling rules (cues.SIBLING_RULES) by the entry they move from."""
        by_id = {item.entry.id: index for index, item in enumerate(self._entries)}

        def compile_all(texts: Sequence[str]) -> tuple[tuple[tuple[str, ...], ...], ...]:
            out = []
            for text in texts:
                parts = tuple(tuple(tokens_of(p, drop_fillers=False)) for p in text.split("+"))
                if parts and all(parts):
                    out.append(parts)
            return tuple(out)

        self._siblings: dict[int, list[_Sibling]] = {}
        for rule in SIBLING_RULES:
            then = by_id.get(rule.then)
            if then is None:
                continue
            sibling = _Sibling(then, compile_all(rule.any), compile_all(rule.unless))
            for first in rule.when:
                if first in by_id and first != rule.then:
                    self._siblings.setdefault(by_id[first], []).append(sibling)

    def _sibling(self, content: Sequence[str], top: _Scored) -> int | None:
        """The sibling of the best entry that the question's state words ask for."""
        for rule in self._siblings.get(top.index, ()):
            if rule.any and not any(_has_all(content, parts) for parts in rule.any):
                continue
            if any(_has_all(content, parts) for parts in rule.unless):
                continue
            return rule.then
        return None

    def _has_intent(self, tokens: Sequence[str]) -> bool:
        """Whether the question (tokens before fillers go) speaks of paperwork."""
        return _contains(tokens, self._intent)

    def _cue_hits(self, view: _QueryView) -> dict[int, int]:
        """Entries whose situation cues the question names, with how many cues each."""
        hits: dict[int, int] = {}
        gap = self.config.phrase_gap
        for word in view.tokens:
            for cue in self._cues.get(word, ()):
                if all(
                    _find_phrase(view.words, part, gap, view.offtopic) >= 0 for part in cue.parts
                ):
                    hits[cue.index] = hits.get(cue.index, 0) + 1
        return hits

    def _apply_cues(
        self,
        view: _QueryView,
        ranked: list[_Scored],
        intent: bool,
        content: Sequence[str] = (),
    ) -> list[_Scored]:
        """Lift entries named by a situation cue to the cue floor (see MatcherConfig)."""
        cfg = self.config
        if cfg.cue_floor <= 0 or view.offtopic & cfg.errand_words:
            return ranked
        hits = self._cue_hits(view)
        # Question frames made of filler words ("thủ tục nào vẫn làm được"), read with
        # the fillers kept; a frame carries its own intent.
        framed = {index for index, parts in self._frames if _has_all(content, parts)}
        for index in framed:
            hits[index] = hits.get(index, 0) + 1
        if not hits:
            return ranked
        lifted: dict[int, float] = {}
        for index, count in hits.items():
            if (
                not intent
                and index not in framed
                and not any(c.strong for c in self._cue_list(index) if self._cue_named(view, c))
            ):
                continue
            item = self._entries[index]
            known = item.vocabulary | self._cue_vocabulary.get(index, frozenset())
            floor = min(cfg.cue_floor + cfg.cue_step * (count - 1), cfg.cue_cap)
            missing_contrast = len(view.contrast - known)
            floor *= (1.0 - cfg.contrast_penalty) ** missing_contrast
            if not intent or isinstance(item.entry, Topic):
                # With an administrative intent, everyday words are the details of the
                # situation ("ck em đi làm trong SG", "bán ở chợ"); without it they count
                # (but never the words of the entry's own cues: "chạy xe ôm"). A topic's
                # cues are generic frames (online, a transfer, a phone number), so its
                # situation is never an everyday one: "đăng ký khám bệnh online",
                # "nộp tiền nước online" are about something else.
                floor *= (1.0 - cfg.offtopic_penalty) ** len(view.offtopic - known)
            lifted[index] = floor
        if not lifted:
            return ranked
        out = [
            _Scored(s.index, lifted[s.index], s.tie, cue=True)
            if lifted.get(s.index, -1.0) > s.score
            else s
            for s in ranked
        ]
        seen = {s.index for s in ranked}
        out.extend(
            _Scored(index, floor, (0.0, 0), cue=True)
            for index, floor in lifted.items()
            if index not in seen
        )
        out.sort(key=lambda s: (s.score, s.tie), reverse=True)
        return out

    def _cue_list(self, index: int) -> list[_Cue]:
        return [c for cues in self._cues.values() for c in cues if c.index == index]

    def _cue_named(self, view: _QueryView, cue: _Cue) -> bool:
        gap = self.config.phrase_gap
        return all(_find_phrase(view.words, part, gap, view.offtopic) >= 0 for part in cue.parts)

    # -- query side -------------------------------------------------------------

    def _correct(self, token: str) -> list[str]:
        """Map a word not in the catalogue to catalogue words, or keep it unknown."""
        if (
            token in self._idf
            or token.isdigit()
            or token in self.config.offtopic_words
            or token in self._cue_words
        ):
            return [token]
        # Run-together words: "khaisinh" → "khai sinh".
        for cut in range(2, len(token) - 1):
            left, right = token[:cut], token[cut:]
            if left in self._idf and right in self._idf:
                return [left, right]
        if len(token) < 3:
            return [token]
        cache = self._typo_cache
        if token in cache:
            cache.move_to_end(token)
            fixed = cache[token]
        else:
            found = process.extractOne(
                token,
                self._vocabulary_by_initial.get(token[0], ()),
                scorer=fuzz.ratio,
                score_cutoff=self.config.typo_cutoff,
            )
            fixed = found[0] if found else self._transposed(token)
            # Short words lose meaning when shortened further ("phim" is not "phí").
            # (A three-letter word can only gain a letter at ratio >= 80: "sin" → "sinh".)
            if fixed is not None and len(token) <= 4 and len(fixed) < len(token):
                fixed = None
            cache[token] = fixed
            if len(cache) > self.config.typo_cache_size:
                cache.popitem(last=False)
        return [fixed] if fixed else [token]

    def _transposed(self, token: str) -> str | None:
        """A catalogue word that is ``token`` with two neighbouring letters swapped back
        ("khia" → "khai"): ratio counts a swap as two edits, too many for short words."""
        for i in range(len(token) - 1):
            swapped = token[:i] + token[i + 1] + token[i] + token[i + 2 :]
            if swapped != token and swapped in self._idf:
                return swapped
        return None

    def _weight(self, token: str) -> float:
        known = self._idf.get(token)
        if known is not None:
            return known
        return self._offtopic_idf if token in self.config.offtopic_words else self._unknown_idf

    def match(self, question: str) -> MatchResult:
        raw_tokens = tokens_of(question, drop_fillers=False)
        content, greeted, thanked = strip_courtesy(raw_tokens)
        if is_smalltalk(content):
            return MatchResult("none", None, 0.0, (), False, False, "")
        tokens = [t for t in tokens_of(" ".join(content)) if t not in FILLER_WORDS]
        if (greeted or thanked) and all(t in COURTESY_TAIL for t in tokens):
            tokens = []
        if not tokens:
            kind: MatchKind = "thanks" if thanked else "greeting" if greeted else "none"
            return MatchResult(kind, None, 0.0, (), False, False, "")
        code = _NATIONAL_CODE.search(question)
        if code and code.group(0) in self._by_code:
            entry = self._by_code[code.group(0)]
            return MatchResult(_kind(entry), entry, 100.0, (), True, False, code.group(0))

        corrected: list[str] = []
        for tok in tokens:
            corrected.extend(self._correct(tok))
        if corrected != tokens:
            # A corrected word may complete a phrase ("nớc ngoài" → "nước ngoài").
            corrected = expand_phrases(corrected)
        query = list(dict.fromkeys(corrected))  # keep order, drop repeats
        normalized = " ".join(query)
        view = self._view(query, normalized, corrected)
        ranked = self._rank(view, self._candidates(query))
        intent = self._has_intent(content)
        ranked = self._apply_cues(view, ranked, intent, content)
        if not ranked:
            return MatchResult("none", None, 0.0, (), False, False, normalized)

        cfg = self.config
        ranked = self._rerank(view, ranked)
        sibling = self._sibling(content, ranked[0])
        if sibling is not None:
            # The family is right, the member is decided by the situation: the sibling
            # takes the first place with the support its relative earned.
            first = ranked[0]
            ranked = [
                _Scored(sibling, first.score, first.tie, first.support, first.named, first.position)
            ] + [s for s in ranked if s.index != sibling]
        top = ranked[0]
        best_entry = self._entries[top.index].entry
        # the price of a thing, not the fee of a paper: every support is lowered alike
        factor = cfg.cost_penalty if not intent and _contains(content, self._cost) else 1.0
        best_score = round(top.support * factor, 2)
        alternatives = tuple(
            (self._entries[s.index].entry, round(s.support * factor, 2))
            for s in ranked[: cfg.max_alternatives + 1]
        )
        if best_score < cfg.min_score:
            return MatchResult("none", None, best_score, alternatives, False, False, normalized)
        second = ranked[1].support * factor if len(ranked) > 1 else 0.0
        ambiguous = second >= cfg.min_score and best_score - second < cfg.ambiguity_gap
        confident = best_score >= cfg.confident_score and not ambiguous
        return MatchResult(
            _kind(best_entry),
            best_entry,
            best_score,
            alternatives,
            confident,
            ambiguous,
            normalized,
        )

    def _rerank(self, view: _QueryView, ranked: list[_Scored]) -> list[_Scored]:
        """Support for the best few, and the order by it (rank order breaks ties).

        A topic (post, online filing, fees) yields to a procedure the question names as
        a phrase: "kết hôn có nhận qua bưu điện không" is answered by the marriage card,
        which says how its result comes back.
        """
        cfg = self.config
        head = max(1, cfg.rerank_top)
        supported: list[_Scored] = []
        phrases: dict[int, frozenset[str]] = {}
        for s in ranked[:head]:
            support, named, at, words = self._support(view, s.index, s.score)
            cue = s.cue and not named and support <= s.score
            supported.append(_Scored(s.index, s.score, s.tie, support, named, at, cue))
            phrases[s.index] = words
        supported.sort(key=lambda s: s.support, reverse=True)  # stable: rank order on ties
        variant = self._variant(view, supported[0], phrases.get(supported[0].index), ranked)
        tail = ranked[head:]
        if variant is not None:
            supported = [variant] + [s for s in supported if s.index != variant.index]
            tail = [s for s in tail if s.index != variant.index]
        # Two entries both named and about as well supported: the one named first is the
        # subject ("nhận cha con khi chưa đăng ký kết hôn" is about nhận cha con).
        if len(supported) > 1:
            a, b = supported[0], supported[1]
            close = a.support - b.support < cfg.ambiguity_gap
            if close and a.named and b.named and b.position < a.position:
                supported[0], supported[1] = b, a
        top = supported[0]
        if isinstance(self._entries[top.index].entry, Topic):
            named = next(
                (
                    s
                    for s in supported
                    if (
                        (s.named and s.support >= cfg.topic_yield_score)
                        # a situation cue names the procedure too ("chưa lập gia đình,
                        # cần giấy xác nhận … làm hồ sơ"): the topic's words are generic
                        or (s.cue and s.support >= cfg.min_score)
                    )
                    and isinstance(self._entries[s.index].entry, Procedure)
                ),
                None,
            )
            if named is not None:
                # The topic's support says the question is in scope; the procedure says
                # which one it is about.
                supported.remove(named)
                lifted = max(named.support, top.support)
                supported.insert(
                    0,
                    _Scored(
                        named.index, named.score, named.tie, lifted, named.named, named.position
                    ),
                )
        return supported + tail

    def _variant(
        self,
        view: _QueryView,
        top: _Scored,
        words: frozenset[str] | None,
        ranked: Sequence[_Scored],
    ) -> _Scored | None:
        """A variant of the named entry that explains what the question adds.

        "khai sinh cho bé có bố là người nước ngoài" names "khai sinh", whose entry pays
        for the contrast word "nước ngoài"; the entry that uses that phrase and the
        contrast words (khai sinh có yếu tố nước ngoài) is what is asked, with the
        support the phrase gave. Likewise a damaged card ("cccd bị gãy") is re-issued.
        """
        if not words or not top.named or not view.contrast:
            return None
        item = self._entries[top.index]
        missing = view.contrast - item.vocabulary
        if not missing:
            return None
        base = top.support / self._contrast(view, item)
        best: _Scored | None = None
        for s in ranked:
            other = self._entries[s.index]
            if s.index == top.index or not (words | missing) <= other.vocabulary:
                continue
            lifted = base * self._contrast(view, other)
            if lifted > top.support and (best is None or lifted > best.support):
                best = _Scored(s.index, s.score, s.tie, lifted, True, top.position)
        return best

    def _candidates(self, query: Sequence[str]) -> list[int]:
        """Top entries by summed IDF of shared words (MaxScore-style early stop)."""
        cfg = self.config
        limit = cfg.max_candidates
        ordered = sorted((t for t in query if t in self._postings), key=self._weight, reverse=True)
        total = remaining = sum(self._idf[t] for t in ordered)
        scores: dict[int, float] = {}
        reweight_only = False
        for tok in ordered:
            posting = self._postings[tok]
            weight = self._idf[tok]
            remaining -= weight
            # Rare words find the candidates; a common word, or any word once no
            # unseen entry could reach the current top, only re-weights them.
            if reweight_only or (len(posting) > self._common_df and scores):
                # Walk whichever is shorter: the posting list or the candidates.
                if len(posting) < len(scores):
                    for index in posting:
                        if index in scores:
                            scores[index] += weight
                else:
                    for index in scores:
                        if tok in self._entries[index].vocabulary:
                            scores[index] += weight
                continue
            for index in posting[: cfg.posting_walk_limit]:
                scores[index] = scores.get(index, 0.0) + weight
            # No entry can have more than the weight walked so far: only when that
            # exceeds what is left can the top be settled (skips most heap builds).
            if len(scores) > limit and total - remaining >= remaining:
                top = heapq.nlargest(limit * 3, scores.items(), key=itemgetter(1))
                if top[limit - 1][1] >= remaining:
                    # Unseen entries can score at most `remaining`: keep a margin of
                    # candidates and stop walking postings.
                    scores = dict(top)
                    reweight_only = True
        top = heapq.nlargest(limit, scores.items(), key=itemgetter(1))
        return [index for index, _ in top]

    def _view(self, query: Sequence[str], normalized: str, words: Sequence[str]) -> _QueryView:
        cfg = self.config
        # Numbers ("con 14 tuổi", "nhà 3 tầng") are details of a case, not what it is
        # about: they weigh like channel words.
        qweight = {
            t: self._weight(t)
            * (cfg.modifier_weight if t in MODIFIER_WORDS or t.isdigit() else 1.0)
            for t in query
        }
        # A word may occur twice ("bé mới sinh … khai sinh"): order is kept if some
        # occurrence of the first word precedes some occurrence of the second.
        first: dict[str, int] = {}
        last: dict[str, int] = {}
        for i, tok in enumerate(words):
            first.setdefault(tok, i)
            last[tok] = i
        return _QueryView(
            tokens=frozenset(query),
            contrast=frozenset(query) & cfg.contrast_words,
            offtopic=frozenset(query) & cfg.offtopic_words,
            weights=qweight,
            total=sum(qweight.values()),
            normalized=normalized,
            # Phrases are looked up in the question as typed (repeats kept), not in
            # the de-duplicated form: "sinh … khai sinh" must contain "khai sinh".
            words=tuple(words),
            first=first,
            last=last,
        )

    def _overlap(
        self, view: _QueryView, alias: _Alias, explained: float
    ) -> tuple[float, float, float]:
        """(lexical F-score, precision, recall) of one alias against the question."""
        cfg = self.config
        shared = view.tokens & alias.tokens
        if not shared:
            return 0.0, 0.0, 0.0
        recall = sum(self._idf[t] for t in shared) / alias.weight
        share = cfg.alias_precision_share
        shared_q = sum(view.weights[t] for t in shared) / view.total
        precision = share * shared_q + (1 - share) * explained
        beta2 = cfg.recall_beta**2
        lexical = (1 + beta2) * precision * recall / (beta2 * precision + recall)
        # Only a full reversal is penalised: context words before the procedure
        # ("bé mới sinh … khai sinh") break some pairs without changing meaning.
        if len(shared) > 1 and _order(alias.pairs, view.first, view.last) == 0.0:
            lexical *= 1.0 - cfg.order_penalty
        return lexical, precision, recall

    def _df(self, token: str) -> int:
        return len(self._postings.get(token, ()))

    def _contrast(self, view: _QueryView, item: _IndexedEntry) -> float:
        """1.0, or less for each contrast word of the question the entry never uses."""
        missing = len(view.contrast - item.vocabulary)
        return (1.0 - self.config.contrast_penalty) ** missing if missing else 1.0

    def _offtopic(self, view: _QueryView, item: _IndexedEntry) -> float:
        """1.0, or less for each off-topic word of the question the entry never uses
        (errand words cost more, see _errand)."""
        if not view.offtopic:
            return 1.0
        # (an entry's own cue words are not off-topic for it: "bạn trai người Mỹ" is the
        # situation of a marriage with a foreigner)
        missing = view.offtopic - item.vocabulary - self._cue_offtopic.get(item.entry.id, _EMPTY)
        if not missing:
            return 1.0
        errands = len(missing & self.config.errand_words)
        return (1.0 - self.config.offtopic_penalty) ** (len(missing) - errands) * (
            1.0 - self.config.errand_penalty
        ) ** errands

    def _errand(self, view: _QueryView, item: _IndexedEntry) -> float:
        """1.0, or less for each errand word of the question the entry never uses."""
        missing = len((view.offtopic & self.config.errand_words) - item.vocabulary)
        return (1.0 - self.config.errand_penalty) ** missing if missing else 1.0

    def _explained(self, view: _QueryView, item: _IndexedEntry) -> float:
        return sum(view.weights[t] for t in view.tokens & item.vocabulary) / view.total

    def _rank(self, view: _QueryView, candidates: Sequence[int]) -> list[_Scored]:
        # The hot loop: the overlap arithmetic of _overlap is inlined here because
        # this runs for every alias of every candidate (~100 per question).
        cfg = self.config
        fw = cfg.fuzzy_weight
        share = cfg.alias_precision_share
        beta2 = cfg.recall_beta**2
        idf = self._idf
        weights = view.weights
        qtokens = view.tokens
        total = view.total
        scored: list[_Scored] = []
        for index in candidates:
            item = self._entries[index]
            explained = sum(weights[t] for t in qtokens & item.vocabulary) / total
            best: tuple[float, float, int] = (-1.0, 0.0, 0)
            best_alias = item.aliases[0]
            best_parts = (0.0, 0.0, 0)
            for alias in item.aliases:
                shared = qtokens & alias.tokens
                if not shared:
                    continue
                recall = sum(idf[t] for t in shared) / alias.weight
                precision = (
                    share * sum(weights[t] for t in shared) / total + (1 - share) * explained
                )
                lexical = (1 + beta2) * precision * recall / (beta2 * precision + recall)
                # Even a perfect fuzzy score could not beat this entry's best alias
                # (checked before the word-order penalty, which can only lower it).
                if 100.0 * ((1 - fw) * lexical + fw) < best[0]:
                    continue
                fuzzy = fuzz.token_sort_ratio(view.normalized, alias.text) / 100.0
                score = 100.0 * ((1 - fw) * lexical + fw * fuzzy)
                if score < best[0]:
                    continue
                # Ties: closer raw string, then the shorter (more specific) alias.
                key = (score, fuzz.ratio(view.normalized, alias.text), -len(alias.text))
                if key > best:
                    best, best_alias, best_parts = key, alias, (lexical, fuzzy, len(shared))
            if best[0] < 0:
                continue
            score = best[0]
            # Word order is checked on the winning alias only (it is the costly part):
            # a fully reversed pair sequence lowers its lexical share.
            lexical, fuzzy, n_shared = best_parts
            if n_shared > 1 and _order(best_alias.pairs, view.first, view.last) == 0.0:
                score = 100.0 * ((1 - fw) * lexical * (1.0 - cfg.order_penalty) + fw * fuzzy)
            score *= self._contrast(view, item) * self._offtopic(view, item)
            scored.append(_Scored(index, score, best[1:]))
        scored.sort(key=lambda s: (s.score, s.tie), reverse=True)
        return scored

    def _support(
        self, view: _QueryView, index: int, score: float
    ) -> tuple[float, bool, int, frozenset[str]]:
        """How sure we are that the question is about this entry at all, whether one
        of its phrases is named in the question, and where the first one starts.

        When a whole alias, or its core without "đăng ký"/"cấp", is named as a phrase,
        the extra words around it ("… tuần sau được không") matter much less: recall
        is weighted more. It decides answer-or-refuse, and orders the best few.
        """
        cfg = self.config
        fw = cfg.fuzzy_weight
        item = self._entries[index]
        explained = self._explained(view, item)
        support = score
        named = False
        first = len(view.words)  # where the first named phrase starts
        phrase_words: frozenset[str] = frozenset()  # the best named phrase
        best_phrase = -1.0
        for alias in item.aliases:
            if len(alias.tokens) == 1 and alias.tokens <= view.tokens:
                # A rare one-word name ("passport", "cmnd") names the entry too.
                named = named or self._df(alias.text) <= cfg.rare_df
            at = -1
            if len(alias.tokens) > 1:
                at = _find_phrase(view.words, alias.text.split(), cfg.phrase_gap, view.offtopic)
            whole = at >= 0
            if not whole and cfg.core_recall_beta > 0 and alias.core is not None:
                at = _find_phrase(view.words, alias.core.split(), cfg.phrase_gap, view.offtopic)
            core = at >= 0 and not whole
            if not (whole or core):
                continue
            _, precision, recall = self._overlap(view, alias, explained)
            # (1e-9: a sum over a set comes out in hash order, so 1.0 may be 0.999…)
            if whole and recall < 1.0 - 1e-9:
                continue
            b2 = cfg.phrase_recall_beta**2 if whole else cfg.core_recall_beta**2
            f = (1 + b2) * precision / (b2 * precision + 1)
            fuzzy = fuzz.token_sort_ratio(view.normalized, alias.text) / 100.0
            phrase = 100.0 * ((1 - fw) * f + fw * fuzzy)
            words = alias.tokens if whole else frozenset(alias.core.split())  # type: ignore[union-attr]
            phrase *= self._contrast(view, item)
            # Naming an object ("xe máy" of "đăng ký xe máy") does not make an errand
            # ("sửa xe máy", "phạt nguội xe máy") a procedure; naming a whole alias
            # ("khai sinh", "làm hộ chiếu") does, unless the errand is done with the
            # document ("giá nhà có sổ hồng").
            phrase *= self._errand(view, item) if whole else self._offtopic(view, item)
            if (
                whole
                and cfg.evidence_floor > 0
                and not words <= MODIFIER_WORDS
                and sum(self._idf[t] for t in words) >= cfg.evidence_weight * self._offtopic_idf
            ):
                # The floor is weak evidence: every penalty applies to it.
                floor = cfg.evidence_floor * self._contrast(view, item)
                phrase = max(phrase, floor * self._offtopic(view, item))
            if phrase >= best_phrase:
                best_phrase, phrase_words = phrase, words
            support = max(support, phrase)
            named = True
            first = min(first, at)
        return support, named, first, phrase_words


_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _QueryView:
    """A question prepared once for scoring against many aliases."""

    tokens: frozenset[str]
    contrast: frozenset[str]  # contrast words in the question (see MatcherConfig)
    offtopic: frozenset[str]  # everyday-errand words in the question (OFF_TOPIC_WORDS)
    weights: dict[str, float]  # per-word weight in the question (IDF, channel words lighter)
    total: float
    normalized: str
    words: tuple[str, ...]  # as typed (repeats kept), for phrase look-ups
    first: dict[str, int]
    last: dict[str, int]


@dataclass(frozen=True)
class _Cue:
    index: int  # the entry
    strong: bool  # carries its own intent ("!" in cues.py)
    parts: tuple[tuple[str, ...], ...]  # every part must be named, each as a phrase
    text: str


def _contains(tokens: Sequence[str], phrases: frozenset[tuple[str, ...]]) -> bool:
    """Whether one of ``phrases`` (word tuples of at most 4 words) occurs in ``tokens``."""
    for size in range(1, 5):
        for i in range(len(tokens) - size + 1):
            if tuple(tokens[i : i + size]) in phrases:
                return True
    return False


def _has_all(tokens: Sequence[str], parts: Sequence[Sequence[str]]) -> bool:
    """Whether every part occurs in ``tokens`` as a contiguous phrase (any order)."""
    for part in parts:
        size = len(part)
        first = part[0]
        if not any(
            tok == first and tuple(tokens[i : i + size]) == tuple(part)
            for i, tok in enumerate(tokens)
        ):
            return False
    return True


@dataclass(frozen=True)
class _Sibling:
    then: int
    any: tuple[tuple[tuple[str, ...], ...], ...]
    unless: tuple[tuple[tuple[str, ...], ...], ...]


def _distinctive(parts: Sequence[Sequence[str]]) -> bool:
    """A cue of one part needs two words or one long word: a single short word ("sổ",
    "nhà") is in too many questions to suggest a procedure."""
    words = [w for part in parts for w in part]
    return len(words) > 1 or len(words[0]) >= 5


@dataclass(frozen=True)
class _Scored:
    index: int
    score: float
    tie: tuple[float, int]
    # The score used to accept or refuse (and to order the best few): see _support.
    support: float = -1.0
    named: bool = False  # one of the entry's phrases is named in the question
    position: int = 0  # where the first named phrase starts
    cue: bool = False  # its score is the floor of a situation cue (see _apply_cues)

    def __post_init__(self) -> None:
        if self.support < 0:
            object.__setattr__(self, "support", self.score)


def _find_phrase(
    words: Sequence[str],
    phrase: Sequence[str],
    max_gap: int,
    no_gap: frozenset[str] = frozenset(),
) -> int:
    """Where ``phrase`` starts in ``words`` (-1: nowhere): in order, with at most
    ``max_gap`` other words inside it when it has three words or more ("chấm dứt việc
    giám hộ" names "chấm dứt giám hộ"; "bảo hành tủ" does not name "báo tử"). Words of
    ``no_gap`` never fill a gap ("đăng ký học lái xe ô tô" does not name "đăng ký ô tô")."""
    first, size = phrase[0], len(phrase)
    if size < 3:
        max_gap = 0
    for start, word in enumerate(words):
        if word != first:
            continue
        matched, position, gaps = 1, start + 1, 0
        while matched < size and position < len(words):
            if words[position] == phrase[matched]:
                matched += 1
            elif gaps < max_gap and words[position] not in no_gap:
                gaps += 1
            else:
                break
            position += 1
        if matched == size:
            return start
    return -1


def _core(text: str) -> str | None:
    words = [w for w in text.split() if w not in GENERIC_WORDS]
    return " ".join(words) if len(words) > 1 and len(words) < len(text.split()) else None


def _pairs(words: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple(pairwise(words))


def _order(pairs: Sequence[tuple[str, str]], first: dict[str, int], last: dict[str, int]) -> float:
    """Share of the alias's consecutive word pairs that keep their order in the question
    (pairs with a word missing from the question are not judged)."""
    judged = kept = 0
    for left, right in pairs:
        a, b = first.get(left), last.get(right)
        if a is not None and b is not None and left != right:
            judged += 1
            kept += a < b
    return kept / judged if judged else 1.0


def _kind(entry: Entry) -> MatchKind:
    return "procedure" if isinstance(entry, Procedure) else "topic"
