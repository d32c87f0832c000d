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

from bot.services.faq.catalogue import Catalogue, Entry, Procedure
from bot.services.faq.normalize import COURTESY_TAIL, FILLER_WORDS, strip_courtesy, tokens_of

MatchKind = Literal["procedure", "topic", "none", "greeting", "thanks"]

_NATIONAL_CODE = re.compile(r"\b\d\.\d{6}\b")


@dataclass(frozen=True)
class MatcherConfig:
    """Thresholds tuned on the ``tune`` split of benchmarks/data/faq_labelled.jsonl."""

    min_score: float = 62.5  # below: "not sure" (kind none)
    confident_score: float = 75.0  # at or above, with a clear gap: one answer
    ambiguity_gap: float = 4.0  # top two closer than this: ask which one
    max_candidates: int = 25
    max_alternatives: int = 3
    typo_cutoff: float = 80.0  # rapidfuzz ratio needed to correct a word
    # <1: words of the question the entry cannot explain count more than alias words
    # the question leaves out (citizens abbreviate; off-topic questions add words)
    recall_beta: float = 0.75
    # When a whole multi-word alias appears as a phrase in the question ("… đăng ký
    # kết hôn tuần sau được không"), extra words around it matter much less.
    phrase_recall_beta: float = 2.0
    # Share of the score lost when the question has the alias's words only in the
    # opposite order ("đói quá" is not "quá đời"; "nuôi chó con" is not "con nuôi").
    order_penalty: float = 0.3
    fuzzy_weight: float = 0.1
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


@dataclass(frozen=True)
class _IndexedEntry:
    entry: Entry
    aliases: tuple[_Alias, ...]
    vocabulary: frozenset[str]


def entry_phrases(entry: Entry) -> list[str]:
    """The texts an entry is known by: names in both languages and every alias."""
    if isinstance(entry, Procedure):
        return [entry.name_vi, entry.name_en, *entry.aliases]
    return [entry.title_vi, entry.title_en, *entry.aliases]


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
        # An unknown word is as telling as the rarest known one (it is never shared).
        self._unknown_idf = math.log(1.0 + n / 0.5)
        self._entries: list[_IndexedEntry] = []
        postings: dict[str, list[int]] = {}
        for index, (entry, aliases) in enumerate(raw):
            built = tuple(
                _Alias(text, toks, sum(self._idf[t] for t in toks), _pairs(text.split()))
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

    # -- query side -------------------------------------------------------------

    def _correct(self, token: str) -> list[str]:
        """Map a word not in the catalogue to catalogue words, or keep it unknown."""
        if token in self._idf or token.isdigit():
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
            fixed = found[0] if found else None
            cache[token] = fixed
            if len(cache) > self.config.typo_cache_size:
                cache.popitem(last=False)
        return [fixed] if fixed else [token]

    def _weight(self, token: str) -> float:
        return self._idf.get(token, self._unknown_idf)

    def match(self, question: str) -> MatchResult:
        raw_tokens = tokens_of(question, drop_fillers=False)
        content, greeted, thanked = strip_courtesy(raw_tokens)
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
        query = list(dict.fromkeys(corrected))  # keep order, drop repeats
        normalized = " ".join(query)
        ranked = self._rank(query, normalized, corrected)
        if not ranked:
            return MatchResult("none", None, 0.0, (), False, False, normalized)

        cfg = self.config
        top = ranked[0]
        best_entry, best_score = top.entry, round(top.support, 2)
        alternatives = tuple(
            (s.entry, round(s.score, 2)) for s in ranked[: cfg.max_alternatives + 1]
        )
        if best_score < cfg.min_score:
            return MatchResult("none", None, best_score, alternatives, False, False, normalized)
        second = ranked[1].score if len(ranked) > 1 else 0.0
        ambiguous = second >= cfg.min_score and top.score - second < cfg.ambiguity_gap
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

    def _candidates(self, query: Sequence[str]) -> list[int]:
        """Top entries by summed IDF of shared words (MaxScore-style early stop)."""
        cfg = self.config
        limit = cfg.max_candidates
        ordered = sorted((t for t in query if t in self._postings), key=self._weight, reverse=True)
        remaining = sum(self._idf[t] for t in ordered)
        scores: dict[int, float] = {}
        reweight_only = False
        for tok in ordered:
            posting = self._postings[tok]
            weight = self._idf[tok]
            remaining -= weight
            # Rare words find the candidates; a common word, or any word once no
            # unseen entry could reach the current top, only re-weights them.
            if reweight_only or (len(posting) > self._common_df and scores):
                for index in scores:
                    if tok in self._entries[index].vocabulary:
                        scores[index] += weight
                continue
            for index in posting[: cfg.posting_walk_limit]:
                scores[index] = scores.get(index, 0.0) + weight
            if len(scores) > limit:
                top = heapq.nlargest(limit * 3, scores.items(), key=itemgetter(1))
                if top[limit - 1][1] >= remaining:
                    # Unseen entries can score at most `remaining`: keep a margin of
                    # candidates and stop walking postings.
                    scores = dict(top)
                    reweight_only = True
        top = heapq.nlargest(limit, scores.items(), key=itemgetter(1))
        return [index for index, _ in top]

    def _rank(self, query: Sequence[str], normalized: str, words: Sequence[str]) -> list[_Scored]:
        cfg = self.config
        qset = frozenset(query)
        q_weight = sum(self._weight(t) for t in qset)
        beta2 = cfg.recall_beta**2
        phrase_beta2 = cfg.phrase_recall_beta**2
        fw = cfg.fuzzy_weight
        padded = f" {normalized} "
        # A word may occur twice ("bé mới sinh … khai sinh"): order is kept if some
        # occurrence of the first word precedes some occurrence of the second.
        first: dict[str, int] = {}
        last: dict[str, int] = {}
        for i, tok in enumerate(words):
            first.setdefault(tok, i)
            last[tok] = i
        scored: list[_Scored] = []
        for index in self._candidates(query):
            item = self._entries[index]
            explained = sum(self._idf[t] for t in qset & item.vocabulary) / q_weight
            best: tuple[float, float, int] = (-1.0, 0.0, 0)
            support = 0.0
            for alias in item.aliases:
                shared = qset & alias.tokens
                if not shared:
                    continue
                shared_weight = sum(self._idf[t] for t in shared)
                recall = shared_weight / alias.weight
                share = cfg.alias_precision_share
                precision = share * (shared_weight / q_weight) + (1 - share) * explained
                lexical = (1 + beta2) * precision * recall / (beta2 * precision + recall)
                # Only a full reversal is penalised: context words before the procedure
                # ("bé mới sinh … khai sinh") break some pairs without changing meaning.
                if len(shared) > 1 and _order(alias.pairs, first, last) == 0.0:
                    lexical *= 1.0 - cfg.order_penalty
                phrase = recall == 1.0 and len(alias.tokens) > 1 and f" {alias.text} " in padded
                # Even a perfect fuzzy score could not beat this entry's best alias.
                if not phrase and 100.0 * ((1 - fw) * lexical + fw) < best[0]:
                    continue
                fuzzy = fuzz.token_sort_ratio(normalized, alias.text) / 100.0
                score = 100.0 * ((1 - fw) * lexical + fw * fuzzy)
                if phrase:
                    # The whole alias is named as a phrase: the question is about this
                    # entry even with extra words, so it counts for accepting the
                    # answer, not for choosing between entries.
                    f = (1 + phrase_beta2) * precision / (phrase_beta2 * precision + 1)
                    support = max(support, 100.0 * ((1 - fw) * f + fw * fuzzy))
                if score < best[0]:
                    continue
                # Ties: closer raw string, then the shorter (more specific) alias.
                key = (score, fuzz.ratio(normalized, alias.text), -len(alias.text))
                best = max(best, key)
            if best[0] >= 0:
                scored.append(_Scored(item.entry, best[0], max(support, best[0]), best[1:]))
        scored.sort(key=lambda s: (s.score, s.tie), reverse=True)
        return scored


@dataclass(frozen=True)
class _Scored:
    entry: Entry
    score: float  # ranks entries against each other
    support: float  # decides whether the best entry is an answer at all
    tie: tuple[float, int]


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
