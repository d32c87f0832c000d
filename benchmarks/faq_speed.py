"""FAQ matcher speed on a province-sized catalogue.

    python benchmarks/faq_speed.py [--procedures 6000] [--questions 2000] [--seed 7] [--repeat 3]

Builds a synthetic catalogue of 6,000 procedures (official-style names from verbs,
objects and qualifiers, a couple of colloquial aliases each, plus the shipped
catalogue), then times 2,000 questions derived from it: accent-free, Telex, typos,
dropped words, question frames, and out-of-scope chatter. Prints JSON with p50/p99
latency per question (ms), index build time and peak RSS (MB).
Targets: p99 < 2 ms, RSS < 200 MB.

On a shared machine the scheduler adds milliseconds to a few unlucky questions, and
p99 of 2,000 questions is the 20th slowest: with ``--repeat N`` every question is timed
N times and the report gives both the first pass (``p50_ms``/``p99_ms``, what a cold
question costs including the noise) and the best of N per question (``p99_best_ms``,
the matcher's own cost). The typo cache is cleared between passes so no pass is warmer.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.services.faq.catalogue import Catalogue, Procedure, load_shipped_catalogue  # noqa: E402
from bot.services.faq.matcher import Matcher  # noqa: E402
from bot.services.faq.normalize import fold  # noqa: E402

VERBS = (
    "Cấp",
    "Cấp lại",
    "Cấp đổi",
    "Gia hạn",
    "Điều chỉnh",
    "Thu hồi",
    "Đăng ký",
    "Đăng ký thay đổi",
    "Xác nhận",
    "Công nhận",
    "Thẩm định",
    "Phê duyệt",
    "Thông báo",
    "Giải quyết",
    "Chấp thuận",
)
OBJECTS = (
    "giấy phép khai thác tài nguyên nước",
    "giấy phép xả thải vào nguồn nước",
    "giấy phép hoạt động điện lực",
    "chứng chỉ hành nghề kiến trúc",
    "chứng chỉ hành nghề y",
    "chứng chỉ hành nghề dược",
    "giấy phép lao động cho người nước ngoài",
    "giấy chứng nhận đủ điều kiện kinh doanh xăng dầu",
    "giấy phép kinh doanh vận tải bằng xe ô tô",
    "phù hiệu xe taxi",
    "giấy phép liên vận",
    "giấy phép tổ chức biểu diễn nghệ thuật",
    "giấy phép quảng cáo",
    "giấy phép thành lập trường mầm non",
    "giấy phép hoạt động giáo dục nghề nghiệp",
    "quyết định công nhận trường đạt chuẩn quốc gia",
    "giấy chứng nhận đăng ký hợp tác xã",
    "giấy chứng nhận đầu tư",
    "giấy phép môi trường",
    "báo cáo đánh giá tác động môi trường",
    "giấy phép khai thác khoáng sản",
    "giấy phép nuôi trồng thủy sản",
    "giấy chứng nhận cơ sở đủ điều kiện chăn nuôi",
    "giấy chứng nhận kiểm dịch động vật",
    "giấy phép vận chuyển thuốc bảo vệ thực vật",
    "giấy phép hoạt động khám bệnh chữa bệnh",
    "giấy phép bán lẻ rượu",
    "giấy phép bán lẻ thuốc lá",
    "giấy phép hoạt động karaoke",
    "giấy chứng nhận thẩm duyệt phòng cháy chữa cháy",
    "giấy phép sử dụng vật liệu nổ công nghiệp",
    "giấy phép xây dựng công trình tôn giáo",
    "giấy phép di dời công trình",
    "giấy phép chặt hạ cây xanh",
    "giấy phép đào đường lắp đặt công trình ngầm",
    "giấy chứng nhận quyền sở hữu công trình",
    "giấy phép thành lập hội",
    "điều lệ quỹ xã hội từ thiện",
    "giấy phép hoạt động báo chí",
    "giấy phép xuất bản bản tin",
    "giấy phép thiết lập trang thông tin điện tử",
    "giấy phép tần số vô tuyến điện",
    "thẻ hướng dẫn viên du lịch",
    "giấy phép kinh doanh lữ hành",
    "quyết định công nhận hạng cơ sở lưu trú du lịch",
    "chế độ trợ cấp thương binh",
    "chế độ người có công với cách mạng",
    "trợ cấp một lần cho thân nhân liệt sĩ",
    "học bổng chính sách",
    "miễn giảm học phí",
)
QUALIFIERS = (
    "",
    "cấp tỉnh",
    "cấp huyện",
    "cấp xã",
    "cho tổ chức",
    "cho cá nhân",
    "có yếu tố nước ngoài",
    "trong khu công nghiệp",
    "đối với doanh nghiệp nhỏ và vừa",
    "trường hợp bị mất",
    "trường hợp bị hỏng",
    "do thay đổi thông tin",
    "lần đầu",
    "tại khu kinh tế",
    "đối với hộ gia đình",
)
OUT_OF_SCOPE = (
    "giá vàng hôm nay",
    "thời tiết ngày mai",
    "kết quả bóng đá",
    "quán ăn ngon gần đây",
    "bạn tên gì",
    "xổ số miền nam",
    "tỷ giá đô la",
    "giá xăng tăng chưa",
)
FRAMES = (
    "{}",
    "cho em hỏi {} ạ",
    "{} ở đâu",
    "{} có được không ad",
    "thủ tục {} cần gì",
    "mình muốn {}",
)


def synthetic_catalogue(count: int, rng: random.Random) -> Catalogue:
    shipped = load_shipped_catalogue()
    procedures: list[Procedure] = list(shipped.procedures)
    combos = [(v, o, q) for v in VERBS for o in OBJECTS for q in QUALIFIERS]
    rng.shuffle(combos)
    for index, (verb, obj, qual) in enumerate(combos[: max(0, count - len(procedures))]):
        name = " ".join(part for part in (verb, obj, qual) if part)
        words = obj.split()
        aliases = (f"{verb.lower()} {' '.join(words[:4])}", f"xin {' '.join(words[-3:])}")
        procedures.append(
            Procedure(
                id=f"tt-{index:05d}",
                name_vi=name,
                name_en=f"Synthetic procedure {index}",
                field="Tổng hợp",
                level=rng.choice(("commune", "district", "province")),
                online_level=rng.choice((0, 2, 3, 4)),
                aliases=aliases,
            )
        )
    return Catalogue(tuple(procedures[:count]), shipped.topics)


def telex(word: str) -> str:
    folded = fold(word)
    return folded + "s" if folded and folded[-1] in "aeiouy" else folded


def perturb(text: str, rng: random.Random) -> str:
    words = text.split()
    kind = rng.randrange(6)
    if kind == 0:
        words = fold(text).split()
    elif kind == 1 and len(words) > 3:
        del words[rng.randrange(1, len(words))]
    elif kind == 2:
        i = rng.randrange(len(words))
        words[i] = telex(words[i])
    elif kind == 3:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1 :]  # a dropped letter
    elif kind == 4:
        words = fold(text).split()[: max(2, len(words) // 2)]
    return rng.choice(FRAMES).format(" ".join(words))


def questions(catalogue: Catalogue, count: int, rng: random.Random) -> list[tuple[str, str | None]]:
    """(question, id it was derived from, or None for out-of-scope)."""
    out: list[tuple[str, str | None]] = []
    for _ in range(count):
        if rng.random() < 0.15:
            out.append((rng.choice(OUT_OF_SCOPE), None))
            continue
        proc = rng.choice(catalogue.procedures)
        base = rng.choice((proc.name_vi, *proc.aliases)) if proc.aliases else proc.name_vi
        out.append((perturb(base, rng), proc.id))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--procedures", type=int, default=6000)
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the questions")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    catalogue = synthetic_catalogue(args.procedures, rng)
    started = time.perf_counter()
    matcher = Matcher(catalogue)
    build_s = time.perf_counter() - started
    # A long-running bot does the same after loading: the index never changes, so
    # the cyclic GC need not walk its ~10^5 objects on every full collection.
    gc.collect()
    gc.freeze()
    batch = questions(catalogue, args.questions, rng)
    latencies: list[float] = []
    answered = top1 = in_top = in_scope = refused = 0
    for question, source in batch:
        t0 = time.perf_counter_ns()
        result = matcher.match(question)
        latencies.append((time.perf_counter_ns() - t0) / 1e6)
        answered += result.best is not None
        if source is None:
            refused += result.best is None
        else:
            in_scope += 1
            # Synthetic names overlap heavily (same object, other verb), so this is
            # a sanity figure, not the quality benchmark.
            ids = [entry.id for entry, _ in result.alternatives]
            top1 += bool(ids) and ids[0] == source
            in_top += source in ids
    best = list(latencies)
    for _ in range(max(1, args.repeat) - 1):
        matcher._typo_cache.clear()  # each pass starts as cold as the first
        for i, (question, _source) in enumerate(batch):
            t0 = time.perf_counter_ns()
            matcher.match(question)
            best[i] = min(best[i], (time.perf_counter_ns() - t0) / 1e6)
    best.sort()
    latencies.sort()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "procedures": len(catalogue.procedures),
                "questions": len(batch),
                "index_build_s": round(build_s, 3),
                "p50_ms": round(statistics.median(latencies), 3),
                "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 3),
                "max_ms": round(latencies[-1], 3),
                "repeat": max(1, args.repeat),
                "p50_best_ms": round(statistics.median(best), 3),
                "p99_best_ms": round(best[int(0.99 * (len(best) - 1))], 3),
                "answered": answered,
                "synthetic_top1": round(top1 / in_scope, 3) if in_scope else None,
                "synthetic_in_top4": round(in_top / in_scope, 3) if in_scope else None,
                "synthetic_refused_out_of_scope": refused,
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
