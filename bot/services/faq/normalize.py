"""Vietnamese text normalisation shared by the catalogue index and citizens' questions.

Both sides go through the same function, so a rule only has to make the two sides
agree; it never has to produce "correct" Vietnamese. The pipeline, in order:

1. ``fold``: lowercase, NFD, drop combining marks, ``đ → d``. Citizens type with and
   without diacritics (and with the Windows-1258 decomposed forms); matching on the
   bare letters makes "khai sinh" and "khái sính" the same.
2. punctuation → spaces, so "cha,mẹ,con" and "cha mẹ con" tokenise alike.
3. abbreviation and slang expansion on whole tokens / token runs (CMND, GPLX, "sổ
   đỏ", "đk", "ks", …). This runs *before* the Telex repair, otherwise "gplx" would
   lose its final "x" as if it were a tone key.
4. Telex repair of tokens that cannot be Vietnamese syllables ("kys", "sinhf",
   "ddawng"): typed on a keyboard without an input method, the tone/shape keys stay
   in the word. We only touch tokens that are not already a valid syllable.
5. spelling variants (kí/ký, lí/lý, qui/quy): both are standard spellings.
6. filler words and question frames ("cho tôi hỏi", "có được không", "ạ", "ad")
   are dropped: they are in every question and tell nothing about the procedure.

Accents are never restored: guessing them ("khai sinh cho con" → "… chờ cơn") adds
errors that matching then has to undo.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Country names that are also everyday words once folded ("Nhật" ~ "nhất", "Đức" a
# name, "Pháp" ~ "tư pháp" (so never after "từ"), "Mỹ" ~ "mỹ phẩm", "Anh" ~ a
# brother) name another country only after a word that introduces one: born in, a
# person of, a spouse of.
_COUNTRY_WORDS: tuple[str, ...] = (
    "nhat",
    "han",
    "duc",
    "phap",
    "my",
    "uc",
    "nga",
    "lao",
    "y",
    "trung",
    "thai",
    "hong kong",
    "dai loan",
    "singapore",
    "malaysia",
    "campuchia",
    "canada",
    "anh",
)
# (the full names too, so that "chồng Hàn Quốc" is not read as "chồng Hàn" + "quốc")
_COUNTRY_NAMES: tuple[str, ...] = (
    "han quoc",
    "trung quoc",
    "nhat ban",
    "thai lan",
    "hoa ky",
    "ha lan",
    "thuy si",
    "thuy dien",
    "tay ban nha",
    "bo dao nha",
    "na uy",
    "dan mach",
    "new zealand",
    "an do",
    "phi",
)
_COUNTRY_BEFORE: tuple[str, ...] = (
    "sinh o",
    "sinh ra o",
    "sinh ben",
    "sinh tai",
    "de o",
    "de ben",
    "quoc tich",
    "viet kieu",
    "kieu bao",
    "nguoi",
    "chong",
    "vo",
    "ben",
    "o ben",
    "song o",
    # a partner (round 8: "bạn trai em người Mỹ" is read through "người"; "bạn trai Mỹ")
    "ban trai",
    "ban gai",
    "nguoi yeu",
    "vi hon phu",
    "vi hon the",
)
_COUNTRY_CONTEXTS: dict[str, str] = {
    f"{before} {country}": (
        f"{before.split()[0]} nuocngoai"
        if before.split()[0] in ("sinh", "chong", "vo", "de", "song")
        else "nuocngoai"
    )
    for before in _COUNTRY_BEFORE
    for country in (*_COUNTRY_WORDS, *_COUNTRY_NAMES)
    # "người anh", "vợ anh", "chồng anh" are family; "từ Ý", "bên Ý" are too short
    if not (country == "anh" and before.split()[0] not in ("quoc", "sinh", "song", "de"))
    and not (country == "y" and before.split()[0] not in ("quoc", "sinh", "song", "de"))
}

_ENGLISH_PARTNERS: tuple[str, ...] = (
    "wife",
    "husband",
    "spouse",
    "partner",
    "girlfriend",
    "boyfriend",
    "fiancee",
    "fiance",
    "woman",
    "man",
    "girl",
    "guy",
    "lady",
)

# Stage 3: abbreviations and slang. Keys and values are already folded (no marks).
# Multi-word keys are matched on token boundaries, longest first.
ABBREVIATIONS: Mapping[str, str] = {
    # identity documents: citizens use the abbreviations far more than the names
    # the old ID card: contracted rather than expanded, because "minh" is also the
    # filler pronoun "mình" and would be dropped from the long form
    "chung minh nhan dan": "cmnd",
    "chung minh thu": "cmnd",
    "cmt": "cmnd",
    "cccd": "cancuoc cong dan",
    # "căn cước" must survive the filler "cần" (same letters once folded): one token
    "can cuoc": "cancuoc",
    "cc": "cancuoc",
    "the cancuoc": "cancuoc",
    "gplx": "giay phep lai xe",
    "bang lai xe": "giay phep lai xe",
    "bang lai": "giay phep lai xe",
    "bang xe": "giay phep lai xe",
    "blx": "giay phep lai xe",
    # business and land
    "dkkd": "dang ky kinh doanh",
    "gpkd": "giay phep kinh doanh",
    "hkd": "ho kinh doanh",
    "dn": "doanh nghiep",
    "cty": "cong ty",
    "mst": "ma so thue",
    "qsdd": "quyen su dung dat",
    # "dược" (pharmacy) folds to "duoc", which is also the filler "được": one token
    # where it can only mean pharmacy, and the filler where the question frame follows.
    "kinh doanh duoc": "kinh doanh duocpham",
    "kinh doanh duoc khong": "kinh doanh khong",
    "kinh doanh duoc ko": "kinh doanh khong",
    "kinh doanh duoc k": "kinh doanh khong",
    "kinh doanh duoc hok": "kinh doanh khong",
    "kinh doanh duoc chua": "kinh doanh chua",
    "kinh doanh duoc nua": "kinh doanh nua",
    "kinh doanh duoc khi": "kinh doanh khi",
    "duoc pham": "duocpham",
    "duoc si": "duocpham",
    "qsd dat": "quyen su dung dat",
    "so do": "giay chung nhan quyen su dung dat",
    "so hong": "giay chung nhan quyen su dung dat",
    "gcn": "giay chung nhan",
    "gpxd": "giay phep xay dung",
    # "đk", "đăng kí" and friends: the most frequent verb in the catalogue
    "dk": "dang ky",
    "dki": "dang ky",
    "dky": "dang ky",
    "ddk": "dang ky",
    "dangky": "dang ky",
    "ks": "khai sinh",
    "dkks": "dang ky khai sinh",
    "dkkt": "dang ky khai tu",
    "dkkh": "dang ky ket hon",
    "kh": "khong",
    "hk": "ho khau",
    "lltp": "ly lich tu phap",
    # Round 7: chat abbreviations and their usual slips
    "llpt": "ly lich tu phap",
    "lltd": "ly lich tu phap",
    "ly lich tp": "ly lich tu phap",
    "ll tu phap": "ly lich tu phap",
    "tctn": "tro cap that nghiep",
    "tc tn": "tro cap that nghiep",
    "tro cap tn": "tro cap that nghiep",
    "gia han tt": "gia han tam tru",
    "ctbs": "chung thuc ban sao",
    "ct ban sao": "chung thuc ban sao",
    "xnhn": "xac nhan tinh trang hon nhan",
    "xntthn": "xac nhan tinh trang hon nhan",
    "xnct": "xac nhan cu tru",
    "ct07": "xac nhan cu tru",
    "ncmc": "nhan cha me con",
    "gcnqsdd": "giay chung nhan quyen su dung dat",
    "gcn qsdd": "giay chung nhan quyen su dung dat",
    "hdmb": "hop dong mua ban",
    "gpkd ho": "giay phep kinh doanh ho",
    "dkx": "dang ky xe",
    "bhyt hgd": "bao hiem y te ho gia dinh",
    "tthc": "thu tuc hanh chinh",
    "dvc": "dich vu cong",
    "dvctt": "dich vu cong truc tuyen",
    "bhyt": "bao hiem y te",
    "bhxh": "bao hiem xa hoi",
    # Round 9: loanwords and chat abbreviations citizens use for a named procedure
    "passport": "ho chieu",
    "pasport": "ho chieu",
    "di linh": "nghia vu quan su",
    "bh 1 lan": "bao hiem xa hoi 1 lan",
    "bh mot lan": "bao hiem xa hoi mot lan",
    "bhxh 1 lan": "bao hiem xa hoi 1 lan",
    "sao y ban chinh": "chungthuc bansao",
    "sao y": "chungthuc bansao",
    "dich thuat cong chung": "dichthuat congchung",
    "tam dung": "tam ngung",
    "bia do": "giay chung nhan quyen su dung dat",
    "bia hong": "giay chung nhan quyen su dung dat",
    "giay bao tu": "giay khai tu",
    # a licence class after "bằng" is a driving licence ("bằng B2", "bằng A1")
    **{
        f"bang {cls}": f"giay phep lai xe {cls}"
        for cls in ("a1", "a2", "a3", "a4", "b1", "b2", "c", "d", "e", "f", "fb2", "fc", "fd", "fe")
    },
    # "nhân dân" adds nothing and folds onto "nhận"
    "ubnd": "uy ban",
    "uy ban nhan dan": "uy ban",
    "sdt": "so dien thoai",
    "hs": "ho so",
    "kq": "ket qua",
    "tp": "thanh pho",
    "tphcm": "thanh pho ho chi minh",
    "hcm": "ho chi minh",
    "sg": "ho chi minh",
    "online": "truc tuyen",
    "onl": "truc tuyen",
    "qua mang": "truc tuyen",
    "buu dien": "buu chinh",
    "buon ban": "kinh doanh",
    "cafe": "ca phe",
    "coffee": "ca phe",
    # "cưới" alone is also "cuối" and "cười" once folded; with a spouse it is marriage
    "cuoi vo": "ket hon vo",
    "cuoi chong": "ket hon chong",
    # "cán bộ" must survive the filler "cần", like "căn cước"
    "can bo": "canbo",
    # Operations joined into one token each, so that the matcher can tell procedures on
    # the same object apart by them (see CONTRAST_WORDS): a bare "lại" is also "mua
    # lại", "để lại", "ở lại"; a bare "đóng" is also "đóng tiền", "hợp đồng", "đồng".
    "cap lai": "cap lamlai",
    "cap doi": "cap lamlai",
    "dang ky lai": "dang ky lamlai",
    "lam lai": "lamlai",
    "gia han": "giahan",
    "dong cua": "dongcua",
    "cham dut": "chamdut",
    "thay doi": "thaydoi",
    # a bare "đổi" is also "đời", "đợi", "đội"; with what is changed it is "thay đổi"
    "doi ten": "thaydoi ten",
    "doi ho": "thaydoi ho",
    "doi dia chi": "thaydoi dia chi",
    "doi nganh nghe": "thaydoi nganh nghe",
    "doi chu": "thaydoi chu",
    # Expiry calls for an operation (renew, exchange): entries that never speak of it
    # pay ("căn cước hết hạn" is not a first card). Surrendering a licence ends a
    # business ("trả giấy phép kinh doanh").
    "het han": "hethan",
    "qua han": "hethan",
    "tra giay phep": "chamdut giay phep",
    "tra lai giay phep": "chamdut giay phep",
    # exchanging an ID card is its re-issue ("cấp đổi")
    "doi cancuoc": "lamlai cancuoc",
    "doi cmnd": "lamlai cmnd",
    "doi the cancuoc": "lamlai cancuoc",
    "doi nguoi dai dien": "thaydoi nguoi dai dien",
    "doi von": "thaydoi von",
    "doi tru so": "thaydoi tru so",
    "doi giam doc": "thaydoi giam doc",
    # A copy or an extract of a record is not the record ("bản sao giấy kết hôn" is not
    # "đăng ký kết hôn"); a certified copy is certification ("công chứng hộ khẩu" is not
    # "đăng ký hộ khẩu"); refusing an inheritance is not receiving it ("không nhận thừa
    # kế": "không" is a filler). Each one token, and a contrast word (CONTRAST_WORDS).
    "ban sao": "bansao",
    "trich luc": "trichluc",
    "sao luc": "trichluc",
    "cong chung": "congchung",
    "chung thuc": "chungthuc",
    "tu choi": "tuchoi",
    "khong nhan thua ke": "tuchoi nhan thua ke",
    "khong nhan di san": "tuchoi nhan di san",
    "khong muon nhan": "tuchoi nhan",
    # "ô tô": "ô" would go with the filler "ở"
    "o to": "oto",
    "xe hoi": "oto",
    # food safety
    "attp": "an toan thuc pham",
    "vsattp": "ve sinh an toan thuc pham",
    # "đẻ" folds onto the filler "để"; just after a birth it is "sinh"
    "moi de": "moi sinh",
    "vua de": "vua sinh",
    "de xong": "sinh xong",
    "sap de": "sap sinh",
    # "chào" would be read as a greeting; a baby "chào đời" is born
    "chao doi": "sinh",
    # the natural parent ("bố đẻ"): "đẻ" folds onto the filler "để" ("bố để lại" stays)
    "bo de": "bo ruot",
    "cha de": "cha ruot",
    "me de": "me ruot",
    "bo de lai": "bo de lai",
    "cha de lai": "cha de lai",
    "me de lai": "me de lai",
    # the planning and investment office is not an investment ("đầu tư", an errand)
    "ke hoach dau tu": "kehoach",
    "ke hoach va dau tu": "kehoach",
    # Not having to go to the office is filing online ("không cần ra phường"): "không",
    # "cần" and "phải" are fillers, and "ra phường" alone is any visit to the office.
    "khong can ra": "khongden",
    "khong phai ra": "khongden",
    "khong can den": "khongden",
    "khong phai den": "khongden",
    "khong can len": "khongden",
    "khong phai len": "khongden",
    "khong ra": "khongden",
    "khong den": "khongden",
    "khong len": "khongden",
    "dich thuat": "dichthuat",
    "ban dich": "dichthuat",
    "dong han": "chamdut",
    # "học" alone is an errand (learning to drive); in these nouns it is not
    "dai hoc": "daihoc",
    "du hoc": "duhoc",
    "hoc ba": "hocba",
    "hoc sinh": "hocsinh",
    "ho tro": "hotro",
    # "làm" is a filler, "làm việc" (is the office working?) is not
    "lam viec": "lamviec",
    # "cửa" would go with the filler "của"
    "mot cua": "motcua",
    # "khẩu" alone is also "khẩu trang"; with the operation it is "hộ khẩu"
    "tach khau": "tach ho khau",
    "cat khau": "cat ho khau",
    "chuyen khau": "chuyen ho khau",
    # Lost and damaged (see _senses): "thất lạc" is "mất"; a damaged paper is "hỏng"
    # ("hỏng" alone would be read as the slang "hông" = "không").
    "that lac": "mat",
    "bi hong": "bi hong",
    "bi rach": "bi hong",
    "bi nat": "bi hong",
    "bi muc": "bi hong",
    "muc nat": "hong",
    "bi chay": "bi hong",
    "bi uot": "bi hong",
    # Another nationality makes it a procedure "có yếu tố nước ngoài".
    "nuoc ngoai": "nuocngoai",
    "ngoai quoc": "nuocngoai",
    "quoc tich": "nuocngoai",
    "viet kieu": "nuocngoai",
    "nguoi tay": "nuocngoai",
    "chong tay": "chong nuocngoai",
    "vo tay": "vo nuocngoai",
    "nguoi nhat": "nuocngoai",
    "nhat ban": "nuocngoai",
    "nguoi han": "nuocngoai",
    "han quoc": "nuocngoai",
    "trung quoc": "nuocngoai",
    "dai loan": "nuocngoai",
    "nguoi my": "nuocngoai",
    "hoa ky": "nuocngoai",
    "nguoi phap": "nuocngoai",
    "nguoi duc": "nuocngoai",
    "nguoi uc": "nuocngoai",
    "nguoi nga": "nuocngoai",
    "nguoi lao": "nuocngoai",
    "thai lan": "nuocngoai",
    "campuchia": "nuocngoai",
    "singapore": "nuocngoai",
    "malaysia": "nuocngoai",
    "an do": "nuocngoai",
    # Chat abbreviations of administrative words. Ambiguous ones only in context:
    # "xn" is "xác nhận" but "xét nghiệm" before a test; "hđ" is "hợp đồng" next to what
    # a contract is about (alone it is as often "hướng dẫn" or "hoạt động").
    "xn": "xac nhan",
    "xn covid": "xetnghiem covid",
    "xn pcr": "xetnghiem",
    "xn nhanh": "xetnghiem",
    "tthn": "tinh trang hon nhan",
    "tt hon nhan": "tinh trang hon nhan",
    "xac nhan doc than": "xac nhan tinh trang hon nhan",
    "giay doc than": "giay xac nhan tinh trang hon nhan",
    "tct": "tro cap that nghiep",
    "tcxh": "tro cap xa hoi",
    "tc that nghiep": "tro cap that nghiep",
    "bh that nghiep": "bao hiem that nghiep",
    "bhtn": "bao hiem that nghiep",
    "atvstp": "an toan ve sinh thuc pham",
    "atttp": "an toan thuc pham",
    "atvs thuc pham": "an toan ve sinh thuc pham",
    "vstp": "ve sinh an toan thuc pham",
    "ttbyt": "trang thiet bi y te",
    "tbyt": "trang thiet bi y te",
    "nvqs": "nghia vu quan su",
    "kd": "kinh doanh",
    "xd": "xay dung",
    "gp": "giay phep",
    "bv": "benh vien",
    "kt3": "tam tru",
    "kt2": "thuong tru",
    "kt1": "thuong tru",
    "so tam tru": "tam tru",
    "dt": "dien thoai",
    "ck": "chuyen khoan",
    "tk ngan hang": "tai khoan ngan hang",
    "nc ngoai": "nuocngoai",
    "dk kh": "dang ky ket hon",
    "hd mua ban": "hop dong mua ban",
    "hd thue": "hop dong thue",
    "hd vay": "hop dong vay",
    "hd tang cho": "hop dong tang cho",
    "hd chuyen nhuong": "hop dong chuyen nhuong",
    "hd uy quyen": "hop dong uy quyen",
    "hd dat coc": "hop dong dat coc",
    "hd the chap": "hop dong the chap",
    "hd lao dong": "hop dong lao dong",
    "cong chung hd": "congchung hop dong",
    "chung thuc hd": "chungthuc hop dong",
    "ct hd": "chungthuc hop dong",
    "cc hd": "congchung hop dong",
    "cc ban sao": "congchung bansao",
    "ky hd": "ky hop dong",
    "dkdn": "dang ky doanh nghiep",
    "ubnd p": "uy ban phuong",
    "ubnd x": "uy ban xa",
    # A damaged card or paper is issued again, like a lost one (see _senses: "hỏng"
    # next to a paper becomes a re-issue).
    "bi gay": "bi hong",
    "bi gay doi": "bi hong",
    "gay doi": "bi hong",
    "bi mo": "bi hong",
    "mo chu": "bi hong",
    "mo anh": "bi hong",
    "bi hu": "bi hong",
    "hu hong": "bi hong",
    "bi bong": "bi hong",
    "bong troc": "bi hong",
    "bi vo": "bi hong",
    "hu chip": "bi hong",
    "loi chip": "bi hong",
    "bi loi": "bi hong",
    "bi o vang": "bi hong",
    "rach nat": "bi hong",
    "bi nhau": "bi hong",
    "canada": "nuocngoai",
    "australia": "nuocngoai",
    "philippines": "nuocngoai",
    "indonesia": "nuocngoai",
    "anh quoc": "nuocngoai",
    "nuoc anh": "nuocngoai",
    "nuoc phap": "nuocngoai",
    "nuoc duc": "nuocngoai",
    "nuoc my": "nuocngoai",
    "nuoc nhat": "nuocngoai",
    "chau au": "nuocngoai",
    "ngoai nuoc": "nuocngoai",
    **_COUNTRY_CONTEXTS,
    # English nationalities (the catalogue's English names say "foreign")
    **dict.fromkeys(
        (
            "foreign",
            "foreigner",
            "foreigners",
            "american",
            "french",
            "korean",
            "japanese",
            "chinese",
            "german",
            "british",
            "australian",
            "canadian",
            "russian",
            "taiwanese",
            "singaporean",
            "malaysian",
            "indonesian",
            "cambodian",
            "laotian",
            "european",
            "swiss",
            "swedish",
            "norwegian",
            "danish",
            "belgian",
            "portuguese",
            "expat",
            "overseas",
        ),
        "nuocngoai",
    ),
    # A partner who is Vietnamese, said in English: the one asking is the foreigner
    # ("My wife is Vietnamese", "my Vietnamese girlfriend"); a partner of a named
    # nationality ("my wife is Thai": "thai" alone is also "thái", pregnancy)
    **{
        f"{who} is {nation}": f"{who} nuocngoai"
        for who in _ENGLISH_PARTNERS
        for nation in ("vietnamese", "thai", "indian", "filipino", "italian", "spanish", "dutch")
    },
    **{f"vietnamese {who}": f"nuocngoai {who}" for who in _ENGLISH_PARTNERS},
    # ("… is Vietnamese too": both are)
    **{
        f"{who} is {also}": f"{who} vietnamese"
        for who in _ENGLISH_PARTNERS
        for also in ("vietnamese too", "vietnamese as well", "also vietnamese")
    },
    **dict.fromkeys(("foreign national", "foreign citizen", "not vietnamese"), "nuocngoai"),
    # English words for operations and papers, as the Vietnamese ones they translate
    "lost": "mat",
    "id card": "cancuoc",
    "identity card": "cancuoc",
    "citizen id": "cancuoc",
    "renew": "lamlai",
    "renewal": "lamlai",
    "replace": "lamlai",
    "replacement": "lamlai",
    "died": "qua doi",
    "passed away": "qua doi",
    "extend": "giahan",
    "extension": "giahan",
    # "mùa" folds onto "mua" (buying, a contrast word)
    "mua covid": "covid",
    "mua corona": "covid",
    "mua nay": "",
    "mua nay a": "",
    # chat slang for negation/ability, so the question frames below can drop them
    "ko": "khong",
    "k": "khong",
    "kg": "khong",
    "kh0ng": "khong",
    "hok": "khong",
    "hong": "khong",
    "dc": "duoc",
    "dk dc": "dang ky duoc",
    "j": "gi",
    "ntn": "nhu the nao",
    "bn": "bao nhieu",
    "bnhieu": "bao nhieu",
    "vs": "voi",
    "ad": "admin",
    "tks": "cam on",
    "thks": "cam on",
    "thanks": "cam on",
    "thank": "cam on",
    "camon": "cam on",
}

# Everyday errands and chatter that share nouns with procedures and topics: prices,
# markets and shopping, weather, transport and traffic fines, health care, schools and
# exams, jobs, banking and loans, utility bills, renting, entertainment, courts and
# theft. Each phrase is joined into one token ("tiền điện" → "tiendien") at the
# abbreviation stage, so that its words ("điện", "tiền", "nhà") no longer pull the
# question towards a procedure, and the matcher makes an entry that never uses the
# token pay for it (see OFF_TOPIC_WORDS). An entry whose aliases use a phrase
# ("tạm trú cho người thuê nhà", "thế chấp sổ đỏ vay ngân hàng") explains it and is
# not penalised. Only phrases whose words are unambiguous together are listed: a
# single "thuốc" is also "thuộc", "tiêm" is also "tiệm", "chợ" folds onto the filler
# "cho", "lương" onto "lượng", "mưa" onto "mua".
OFF_TOPIC_PHRASES: tuple[str, ...] = (
    # weather
    "thoi tiet",
    "du bao",
    "troi mua",
    "mua lon",
    "nang nong",
    "bao lu",
    "lu lut",
    "ngap nuoc",
    "troi nang",
    "troi lanh",
    "troi ret",
    # prices, money, finance
    "gia vang",
    "vang sjc",
    "vang 9999",
    "ty gia",
    "ngoai te",
    "usd",
    "euro",
    "chung khoan",
    "co phieu",
    "bitcoin",
    "tien ao",
    "lai suat",
    "ngan hang",
    "atm",
    "the tin dung",
    "tin dung",
    "tin chap",
    "vay tieu dung",
    "tiet kiem",
    "chuyen tien",
    "chuyen khoan",
    "nap tien",
    "tra gop",
    "tra no",
    "no xau",
    "doi tien",
    "bao hiem nhan tho",
    "bao hiem xe",
    "bao hiem o to",
    "bao hiem xe may",
    "bao hiem du lich",
    "bao hiem suc khoe",
    "bao hiem nha",
    # markets, shops, shopping, food
    "sieu thi",
    "cho dem",
    "di cho",
    "cho dau moi",
    "mua sam",
    "giao hang",
    "ship hang",
    "ship do",
    "giao do an",
    "do an",
    "dat hang",
    "don hang",
    "khuyen mai",
    "giam gia",
    "gia re",
    "xach tay",
    "shopee",
    "lazada",
    "tiki",
    "sendo",
    "tien loi",
    "nau an",
    "mon an",
    "an gi",
    "nha hang",
    "an uong",
    "pho bo",
    "bun bo",
    "bun cha",
    "banh mi",
    "tra sua",
    "ca phe",
    "pizza",
    # transport and traffic
    "xe buyt",
    "xe bus",
    "xe khach",
    "ben xe",
    "tau hoa",
    "tau lua",
    "ga tau",
    "ve tau",
    "may bay",
    "ve may bay",
    "chuyen bay",
    "san bay",
    "taxi",
    "grab",
    "xe om",
    "phat nguoi",
    "vi pham giao thong",
    "vuot den",
    "giao thong",
    "csgt",
    "nop phat",
    "bi phat",
    "muc phat",
    "phat bao nhieu",
    "mu bao hiem",
    "non bao hiem",
    "nong do con",
    "giu xe",
    "sua xe",
    "doi dau",
    "thay dau",
    "thay nhot",
    "het xang",
    "nha tam",
    "nha ve sinh",
    "toilet",
    "bao hiem oto",
    "rua xe",
    "do xang",
    "xang dau",
    "gia xang",
    "hoc lai xe",
    "hoc bang lai",
    "hoc giay phep lai xe",
    # health care
    "benh vien",
    "phong kham",
    "kham benh",
    "kham suc khoe",
    "kham thai",
    "bac si",
    "nha si",
    "nha khoa",
    "cap cuu",
    "nhap vien",
    "nam vien",
    "trieu chung",
    "bi sot",
    "sot cao",
    "dau bung",
    "dau dau",
    "dau rang",
    "cam cum",
    "bi om",
    "uong thuoc",
    "thuoc ha sot",
    "thuoc cam",
    "don thuoc",
    "mua thuoc",
    "gui hang",
    "gui do",
    "buu pham",
    "buu kien",
    "gui thu",
    "chuyen phat",
    "tiem chung",
    "tiem phong",
    "di tiem",
    "mui tiem",
    "vac xin",
    "vacxin",
    "vaccine",
    "xet nghiem",
    "test nhanh",
    "pcr",
    "ca nhiem",
    "nhiem covid",
    "duong tinh",
    "am tinh",
    "giam can",
    "tap gym",
    "yoga",
    "the duc",
    # schools and exams ("thì" is a filler: only exam phrases keep "thi")
    "truong hoc",
    "di hoc",
    "nhap hoc",
    "hoc phi",
    "hoc them",
    "lop hoc",
    "khoa hoc",
    "gia su",
    "mam non",
    "nha tre",
    "tuyen sinh",
    "xet tuyen",
    "diem chuan",
    "diem thi",
    "cuoc thi",
    "di thi",
    "lich thi",
    "de thi",
    "thi dai hoc",
    "thi tot nghiep",
    "thi cong chuc",
    "thi tuyen",
    "thi bang lai",
    "thi bang xe",
    "thi giay phep lai xe",
    "thi sat hach",
    "sat hach",
    "ielts",
    "toeic",
    "hoc bong",
    "hoc online",
    "bai tap",
    "hoc tieng",
    # jobs
    "tuyen dung",
    "tim viec",
    "xin viec",
    "viec lam them",
    "tuyen nhan vien",
    "tuyen cong nhan",
    "tuyen lao dong",
    "phong van",
    "luong huu",
    "tang luong",
    "tien luong",
    "nhan luong",
    # utility bills and telecoms ("mất điện thoại" is a lost phone, not a power cut)
    "tien dien",
    "tien nuoc",
    "hoa don",
    "cup dien",
    "mat dien",
    "mat nuoc",
    "cat dien",
    "cat nuoc",
    "cup nuoc",
    "dong ho nuoc",
    "dong ho dien",
    "cong to",
    "nuoc may",
    "dien luc",
    "evn",
    "cap quang",
    "goi cuoc",
    "nha mang",
    "viettel",
    "vinaphone",
    "mobifone",
    "sim",
    "wifi",
    "internet",
    "4g",
    "5g",
    # renting, hotels
    "thue nha",
    "thue phong",
    "thue tro",
    "tim phong",
    "tim nha",
    "o ghep",
    "chung cu",
    "khach san",
    "homestay",
    "thue mat bang",
    "thue xe",
    "tu lai",
    # entertainment, devices, chatter
    "bong da",
    "xo so",
    "ve so",
    "karaoke",
    "phim",
    "xem phim",
    "nghe nhac",
    "bai hat",
    "game",
    "choi game",
    "truyen",
    "tu vi",
    "xem boi",
    "nguoi yeu",
    "ban gai",
    "ban trai",
    "facebook",
    "tiktok",
    "youtube",
    "iphone",
    "samsung",
    "laptop",
    "may tinh",
    "du lich",
    "di choi",
    "sinh nhat",
    "may giat",
    "tu lanh",
    "dieu hoa",
    "may lanh",
    # courts, theft, taxes on income
    "ly hon",
    "toa an",
    "khoi kien",
    "kien tung",
    "mat trom",
    "bi trom",
    "lua dao",
    "doi no",
    "ke gian",
    "thue thu nhap",
    "tncn",
    "quyet toan thue",
    "hoan thue",
    "khai thue",
    "nop thue",
    "thue mon bai",
    "tu thien",
)
# Phrases that contain an off-topic phrase but are not off topic.
_OFF_TOPIC_GUARDS: Mapping[str, str] = {
    "mat dien thoai": "mat dien thoai",  # a lost phone, not a power cut
    "nha hang xom": "nha hang xom",  # the neighbour's house, not a restaurant
    # "cho thuê nhà" is renting out ("thuê nhà"), not the filler "cho"
    "cho thue": "thue",
    # opening a shop is a business; "… có mở cửa không" asks about opening hours
    "mo cua hang": "mo cua hang",
    "mo cua": "mocua",
    "sinh nhat ban": "sinh nuocngoai",  # born in Japan, not a birthday
    "dang kiem tra": "kiem tra",  # "đang kiểm tra" (checking), not a vehicle inspection
}
# Single words that, once folded, are never about a procedure and never another word.
OFF_TOPIC_SINGLE: frozenset[str] = frozenset(
    {
        "xang",
        "phat",
        "taxi",
        "grab",
        "bitcoin",
        "shopee",
        "lazada",
        "pizza",
        "karaoke",
        "iphone",
        "wifi",
    }
)


def _join(phrase: str) -> str:
    return phrase.replace(" ", "")


# Errands done *with* a document rather than procedures for it: its price or value,
# interest on a loan against it, when a developer hands it over, whether to invest,
# a SIM card or bank account opened with an ID, a vehicle inspection, a visa or a
# foreign green card, a vaccine passport. Unlike other off-topic words these count
# even when the question names a whole alias ("sổ hồng", "căn cước", "hộ chiếu"):
# "giá nhà có sổ hồng" is not a question about the certificate.
ERRAND_PHRASES: tuple[str, ...] = (
    "lai suat",
    "lai bao nhieu",
    "phan tram",
    "dinh gia",
    "chu dau tu",
    "du an",
    "ban giao",
    "the xanh",
    "dang kiem",
    "visa",
    "thi thuc",
    "nen mua",
    "dau tu",
    "dien luc",
    "evn",
    "nha mang",
    "cap cuu",
    "sim",
    "mo tai khoan",
    "tai khoan ngan hang",
    "vaccine",
    "vac xin",
    "vacxin",
    "xet nghiem",
    "xetnghiem",
    # Round 6: errands around a procedure's paper: its resale value ("bán được bao
    # nhiêu"), a lawyer, a traffic fine, a tax on it, a form to download, which office is
    # better, a private loan or pawn against it, whether one should buy.
    "ban duoc bao",
    "ban duoc gia",
    "ban duoc may",
    "ban duoc nhieu",
    "luat su",
    "tu van luat",
    "tu van phap luat",
    "phat nguoi",
    "truoc ba",
    "uy tin",
    "nao tot",
    "tot hon",
    "re hon",
    "thap hon",
    "tai o dau",
    "tai ve",
    "tai mau",
    "download",
    "cam do",
    "cam co",
    "vay ngoai",
    "co nen",
    "tu quy",
    "mua o dau",
    "bi thiet",
    "loi hon",
    "tai file",
    "file word",
    "file mau",
    "dong ho nuoc",
    "dong ho dien",
    "lap dong ho",
    # the cost of the work itself, not of its paper
    "xay nha het",
    "xay het",
    "chi phi xay",
    "du toan",
    "bao gia",
    "can von",
    "von bao nhieu",
    "cong to",
    "dien ke",
    "so dep",
    "bien dep",
    # Round 7: selling ads ("cần bán gấp lô đất sổ hồng riêng", "chính chủ bán nhà, giá
    # thương lượng"), service firms that do the paperwork for a price ("công ty dịch vụ",
    # "trọn gói", "giá rẻ"), templates ("mẫu đơn", "mẫu hợp đồng"), pets (a "chó" written
    # with its accent is read as "thú cưng" before folding, because "cho" is also the
    # filler "for"; "mèo") and pay ("lương bao nhiêu", "hưởng lương", "phụ cấp"): the citizen does
    # not ask for the procedure whose paper is named.
    "can ban nha",
    "can ban dat",
    "can ban lo",
    "can ban can",
    "can ban xe",
    "ban gap",
    "chinh chu ban",
    "ban chinh chu",
    "dat nen",
    "thuong luong",
    "so hong rieng",
    "so do rieng",
    "so rieng",
    "ban lo",
    "tung lo",
    "cong ty dich vu",
    "ben dich vu",
    "van phong dich vu",
    "dich vu lam",
    "lam dich vu",
    "lam tron goi",
    "tron goi",
    "gia re",
    "re nhat",
    "mau don",
    "mau giay",
    "mau hop dong",
    "mau van ban",
    "mau bien ban",
    "mau to khai",
    "thu cung",
    "meo",
    "luong bao nhieu",
    "huong luong",
    "tien luong",
    "phu cap",
    "tro cap bao nhieu",
    # Round 8: accent-free templates ("mau" is "mẫu" before a paper's name), wholesale
    # and retail trade, looking for a buyer, other organisations' hotlines (the health
    # ministry, emergency 115, symptoms to report)
    "mau so yeu",
    "mau ly lich",
    "mau cv",
    "mau giay uy quyen",
    "ban si",
    "ban le",
    "lay si",
    "gia si",
    "nhap hang",
    "nguon hang",
    "nguoi mua lai",
    "tim nguoi mua",
    "can nguoi mua",
    "bo y te",
    "kho tho",
    "115",
    "9095",
    "3228",
    # Round 9: fake papers, buying at shops, school admissions, the CDC's hotline
    "khong can thi",
    "khong phai thi",
    "khoi thi",
    "bang gia",
    "lam bang gia",
    "giay to gia",
    "mua bang",
    "cua hang nao",
    "cua hang gan",
    "hieu thuoc nao",
    "nha thuoc nao",
    "cho nao ban",
    "tuyen sinh",
    "vao lop",
    "cdc",
    "van don",
    "kiem soat benh tat",
    # English errands: selling it, something cheap, the best one
    "sell",
    "cheap",
    "best",
)

OFF_TOPIC_WORDS: frozenset[str] = (
    OFF_TOPIC_SINGLE
    | {"matdo", "hongdo", "nhapkhau", "giaca"}
    | frozenset(_join(p) for p in (*OFF_TOPIC_PHRASES, *ERRAND_PHRASES))
)
ERRAND_WORDS: frozenset[str] = frozenset({"giaca"} | {_join(p) for p in ERRAND_PHRASES})

# Stage 6: question frames (multi-word) and single filler words. Dropped on both
# sides. Words that distinguish procedures ("con", "nhan", "lai", "cap") stay.
FILLER_PHRASES: tuple[str, ...] = (
    "cho toi hoi",
    "toi muon hoi",
    "em muon hoi",
    "muon hoi",
    "hoi ve",
    "em hoi",
    "vui long",
    "lam sao",
    "nhu vay",
    "vay a",
    "cho em hoi",
    "cho minh hoi",
    "cho hoi",
    "xin hoi",
    "lam on",
    "nhu the nao",
    "the nao",
    "ra sao",
    "o dau",
    "can gi",
    "can nhung gi",
    "bao gio",
    "khi nao",
    "luc nao",
    "bay gio",
    "hien nay",
    "hien tai",
    "luc nay",
    "dot nay",
    "thoi gian nay",
    "mua dich",
    "trong thoi gian cach ly xa hoi",
    "trong thoi gian cach ly",
    "thoi gian cach ly",
    "cach ly xa hoi",
    "trong thoi gian nay",
    "trong thoi gian",
    "trong dich",
    "dang gian cach",
    "gian cach xa hoi",
    "thu tuc",
    "co duoc khong",
    # what to bring? in person? how long? how much? The card of the procedure named
    # answers these.
    "can nhung giay to gi",
    "can giay to gi",
    "giay to gi",
    "can mang theo gi",
    "mang theo gi",
    "can chuan bi gi",
    "co phai di truc tiep",
    "phai di truc tiep",
    "phai den truc tiep",
    "di truc tiep",
    "den truc tiep",
    "phai di",
    "phai den",
    "bao lau thi co ket qua",
    "bao lau co ket qua",
    "trong bao lau",
    "mat bao lau",
    "bao lau",
    "may ngay",
    "bao nhieu ngay",
    "het bao nhieu tien",
    "mat bao nhieu tien",
    "ton bao nhieu tien",
    "bao nhieu tien",
    "het bao nhieu",
    "mat bao nhieu",
    "ton bao nhieu",
    "bao nhieu",
    # yes/no frames around the procedure ("… còn tiếp nhận không?")
    "con tiep nhan khong",
    "duoc tiep nhan khong",
    "co tiep nhan khong",
    "tiep nhan khong",
    "con nhan khong",
    "co nhan khong",
    "con lam duoc khong",
    "co lam duoc khong",
    "lam duoc khong",
    "con lam khong",
    "duoc khong",
    "co phai",
    "nhu nao",
    "duoc khong a",
)

# Single words that carry no meaning for matching. Left out on purpose, because
# after folding they collide with content words: "bản" (bản sao) ~ "bạn", "di" (di
# chúc) ~ "đi", "sao" (bản sao) ~ "sao?", "mã" ~ "mà", "nhà" ~ "nha", "vay" (vay
# vốn) ~ "vậy", "thẻ" ~ "thế", "hội" ~ "hỏi", "chi" (chi trả) ~ "chị", "căn" (căn
# cước) ~ "cần" (handled by joining "can cuoc" above). "thì" is dropped although it
# is also "thi" (exam): it is in a great many questions, and no procedure of the
# catalogue is told apart by "thi".
FILLER_WORDS: frozenset[str] = frozenset(
    {
        "a",
        "ai",
        "khi",
        "cac",
        "nhung",
        "luon",
        "ah",
        "ak",
        "admin",
        "anh",
        "ba",
        "can",
        "cho",
        "co",
        "cua",
        "da",
        "de",
        "duoc",
        "em",
        "gi",
        "giup",
        "ha",
        "khong",
        "la",
        "lam",
        "minh",
        "muon",
        "nao",
        "nay",
        "nhe",
        "nhi",
        "o",  # "ở" (at): the place is never what tells procedures apart
        "oi",
        "phai",
        "roi",
        "thi",
        "toi",
        "u",
        "va",
        "voi",
        "xin",
        "z",
        # English question words (the catalogue has English names too); not "do",
        # "to", "my", "the", "me", "an": those fold onto Vietnamese words
        "how",
        "what",
        "where",
        "when",
        "which",
        "who",
        "is",
        "are",
        "for",
        "you",
        "your",
        "we",
        "our",
        "need",
        "want",
        "please",
        "get",
        "i",
        "s",
        "of",
        "does",
        "should",
        "must",
        "there",
        "this",
        "with",
    }
)

# English: words that show a question is in English (never a Vietnamese word once
# folded: not "the" ~ thẻ, "can" ~ cần, "to" ~ tờ, "my" ~ Mỹ), and the function words
# dropped from an English question only.
ENGLISH_MARKERS: frozenset[str] = frozenset(
    {"how", "what", "where", "when", "which", "who", "why", "would", "could", "should"}
    | {"does", "did", "is", "are", "was", "were", "im", "please", "want", "need", "have"}
    | {"has", "will", "from", "with", "this", "that", "there", "your", "our", "their"}
    | {"they", "it", "its", "get", "i", "you", "we", "for", "of"}
)
ENGLISH_STOP: frozenset[str] = ENGLISH_MARKERS | frozenset(
    {"the", "can", "to", "my", "a", "an", "do", "me", "now", "up", "on", "in", "at"}
    | {"and", "or", "by", "be", "so"}
    | {"he", "she", "still", "any", "some", "here", "if", "then", "just", "about", "us"}
    | {"s", "m", "ll", "d", "ve", "re", "t", "am", "much", "many", "one", "new", "also"}
    | {"tell", "know", "let", "make", "go", "come", "help", "hi", "hello", "thank", "thanks"}
    | {"vietnam", "vietnamese", "viet", "nam", "here", "during", "covid", "office"}
)

# Courtesy phrases (after expansion): a message made only of these and fillers is a
# greeting or a thank-you; inside a real question they are removed before matching.
GREETING_PHRASES: tuple[str, ...] = (
    "xin chao",
    "chao buoi sang",
    "chao buoi chieu",
    "chao buoi toi",
    "chao ban",
    "chao",
    "hi",
    "hello",
    "helo",
    "alo",
    "hey",
)
THANKS_PHRASES: tuple[str, ...] = (
    "cam on nhieu",
    "cam on ban",
    "cam on you",
    "cam on u",
    "cam on",
)
# Small talk about the bot itself (after folding): never a question about a procedure,
# although "bạn tên gì" shares "bán" and "tên" with "mua bán đất sang tên" once folded.
SMALLTALK_PHRASES: frozenset[str] = frozenset(
    {
        "ban ten gi",
        "ban ten la gi",
        "ten ban la gi",
        "ban la ai",
        "ban la gi",
        "ban bao nhieu tuoi",
        "ban khoe khong",
        "ban co khoe khong",
        "ban o dau",
        "ban dang lam gi",
        "ban co nguoi yeu chua",
        "ban la nguoi hay may",
        "ban co phai nguoi that khong",
    }
)
# Words that only speak of the bot itself ("bạn là người thật hả", "ad có phải robot
# không", "em đang nói chuyện với ai"): a short question (SMALLTALK_MAX_WORDS, after
# the courtesy words) with one of them is small talk, however it is phrased.
SMALLTALK_MARKERS: frozenset[str] = frozenset(
    {
        "nguoi that",
        "nguoi hay may",
        "bot hay nguoi",
        "may hay nguoi",
        "robot",
        "chatbot",
        "bot",
        "tra loi tu dong",
        "noi chuyen voi ai",
        "chat voi ai",
        "ban la bot",
        "ban la may",
    }
)
SMALLTALK_MAX_WORDS = 8
SMALLTALK_TAIL: frozenset[str] = frozenset({"a", "vay", "the", "nhi", "ha", "z", "do", "day"})

# Words that may trail a greeting or a thank-you ("cảm ơn ad nhiều nha").
COURTESY_TAIL: frozenset[str] = frozenset(
    {"nhieu", "lam", "ban", "admin", "nha", "nhe", "you", "u", "so", "much", "very", "moi", "nguoi"}
)

# Verbs and nouns that open most procedure names ("đăng ký …", "cấp giấy …"). An
# alias without them is its core ("khai sinh"); naming the core as a phrase is
# strong evidence even when the question adds many other words.
GENERIC_WORDS: frozenset[str] = frozenset({"dang", "ky", "cap", "giay", "xin", "nop"})

# Operation words: what is done to the object ("cấp lại" re-issue, "gia hạn" extend,
# "xóa", "hủy", "tách", "đóng cửa", "ngừng", "chấm dứt", "thay đổi", "sửa"), and the
# two kinds of procedure that are a variant of another: a translation, a foreign
# element. Procedures on the same object differ by them ("sổ đỏ" / "cấp lại sổ đỏ",
# "kết hôn" / "kết hôn với người Nhật"), yet they are common across the catalogue, so
# their IDF is low; the matcher makes an entry that never uses one pay for it ("sửa
# điện thoại" is not the hotline). "mua" too: buying is an errand ("mua khẩu trang",
# "mua bảo hiểm xe máy") unless the entry speaks of buying ("mua xe cũ sang tên",
# "mua bảo hiểm y tế"); so are learning and renting ("học lái xe", "cho thuê xe máy").
# Aid ("hỗ trợ") is asked for as such. Not "bán" ("bạn",
# "bản" once folded), nor words that fold onto everyday ones ("mất" is also "mặt" and
# "mất bao lâu", "đổi" is also "đời", "đợi").
CONTRAST_WORDS: frozenset[str] = frozenset(
    {
        "lamlai",
        "giahan",
        "xoa",
        "huy",
        "tach",
        "dongcua",
        "ngung",
        "chamdut",
        "thaydoi",
        "sua",
        "dichthuat",
        "nuocngoai",
        "mua",
        "hotro",
        "hoc",
        "thue",
        "bansao",
        "trichluc",
        "congchung",
        "chungthuc",
        "tuchoi",
        "hethan",
    }
)

# Channel words ("online", "qua bưu điện") usually modify a question about a
# procedure; they should not pull it towards the channel topics.
MODIFIER_WORDS: frozenset[str] = frozenset(
    # channels (trực tuyến, bưu chính, trực tiếp) and the fee ("lệ phí") are asked about
    # every procedure, and so is the office ("ở phường nào", "lên huyện"): "khai sinh lệ
    # phí bao nhiêu" is about khai sinh, not paying online
    {"truc", "tuyen", "buu", "chinh", "tiep", "le", "phi", "phuong", "huyen", "xa"}
)

# Stage 5: standard spelling variants of the same syllable ("đăng kí" = "đăng ký").
SPELLING_VARIANTS: Mapping[str, str] = {
    "ki": "ky",
    "li": "ly",
    "qui": "quy",
    "mi": "my",
    "ti": "ty",
    "si": "sy",
}

_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)
_DOG = re.compile(r"(?<!\w)chó(?!\w)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")

# A Vietnamese syllable without marks: onset, nucleus, coda. Used to decide whether
# a token may carry Telex leftovers (only tokens that fail this are repaired).
_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|g|h|k|l|m|n|p|r|s|t|v|x)?"
_NUCLEUS = (
    r"(?:uye|uya|uyu|oai|oay|oeo|uay|uoi|uou|uou|ieu|yeu|uoi|"
    r"ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|ua|ue|ui|uo|uu|uy|ye|"
    r"a|e|i|o|u|y)"
)
_CODA = r"(?:ch|ng|nh|c|m|n|p|t)?"
_SYLLABLE = re.compile(rf"{_ONSET}{_NUCLEUS}{_CODA}")
_ONSET_ONLY = re.compile(r"ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|dd|b|c|d|g|h|k|l|m|n|p|r|s|t|v|x")
_TELEX_TONE_KEYS = frozenset("sfrxj")


def fold(text: str) -> str:
    """Lowercase and strip every diacritic; ``đ`` has no decomposition, so map it."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.replace("đ", "d").replace("Đ", "d")


def is_syllable(token: str) -> bool:
    """True when ``token`` (already folded) is a well-formed Vietnamese syllable."""
    return _SYLLABLE.fullmatch(token) is not None


def repair_telex(token: str) -> str:
    """Undo Telex keys left in a token typed without an input method.

    "kys" → "ky", "sinhf" → "sinh", "ddawng" → "dang", "hoonf" → "hon". Tokens that are
    already syllables, or that do not become one after repair, are returned unchanged:
    an English word or a code must not be mangled.
    """
    if not token.isalpha() or is_syllable(token):
        return token
    onset_match = _ONSET_ONLY.match(token)
    onset = onset_match.group(0) if onset_match else ""
    rest = token[len(onset) :]
    onset = "d" if onset == "dd" else onset
    # Tone keys can only appear after the onset; "w" marks ă/ơ/ư anywhere after it.
    rest = "".join(ch for ch in rest if ch not in _TELEX_TONE_KEYS and ch != "w")
    for double, single in (("aa", "a"), ("ee", "e"), ("oo", "o"), ("dd", "d")):
        rest = rest.replace(double, single)
    candidate = onset + rest
    # A lone "w" is Telex for "ư" ("tw" is not a syllable, "tu" is).
    if not rest and "w" in token:
        candidate = onset + "u"
    return candidate if is_syllable(candidate) else token


@dataclass(frozen=True)
class PhraseTable:
    """A phrase → replacement table with its longest key length precomputed."""

    mapping: Mapping[str, str]
    max_len: int

    @classmethod
    def of(cls, mapping: Mapping[str, str]) -> PhraseTable:
        return cls(MappingProxyType(dict(mapping)), max(len(k.split()) for k in mapping))


def _replace_phrases(tokens: list[str], table: PhraseTable) -> list[str]:
    """Replace runs of tokens found in ``table`` (longest run first)."""
    mapping = table.mapping
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in range(min(table.max_len, len(tokens) - i), 0, -1):
            key = tokens[i] if size == 1 else " ".join(tokens[i : i + size])
            if key in mapping:
                out.extend(mapping[key].split())
                i += size
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


# Built once at import and read-only afterwards (MappingProxyType). Off-topic phrases
# never override an abbreviation (checked in the tests).
_ABBREVIATION_TABLE = PhraseTable.of(
    {
        **{p: _join(p) for p in (*OFF_TOPIC_PHRASES, *ERRAND_PHRASES) if " " in p},
        **_OFF_TOPIC_GUARDS,
        **ABBREVIATIONS,
    }
)
_FILLER_TABLE = PhraseTable.of(dict.fromkeys(FILLER_PHRASES, ""))
_OFF_TOPIC_TABLE = PhraseTable.of(
    {
        **{p: _join(p) for p in (*OFF_TOPIC_PHRASES, *ERRAND_PHRASES) if " " in p},
        **_OFF_TOPIC_GUARDS,
    }
)
# Placeholders a courtesy phrase is replaced by; they cannot come out of tokenising.
_GREETING_MARK = "<greeting>"
_THANKS_MARK = "<thanks>"
_COURTESY_TABLE = PhraseTable.of(
    {
        **dict.fromkeys(GREETING_PHRASES, _GREETING_MARK),
        **dict.fromkeys(THANKS_PHRASES, _THANKS_MARK),
    }
)


def strip_courtesy(tokens: list[str]) -> tuple[list[str], bool, bool]:
    """Remove greeting/thanks phrases; report which were present."""
    marked = _replace_phrases(tokens, _COURTESY_TABLE)
    rest = [tok for tok in marked if tok not in (_GREETING_MARK, _THANKS_MARK)]
    return rest, _GREETING_MARK in marked, _THANKS_MARK in marked


# What "mất" means (after fillers are gone): lost when a paper is near ("mất sổ
# hồng", "giấy khai sinh bị mất": it must be issued again), died after a relative
# with nothing lost after it ("ông nội tôi mất hôm qua"). A damaged paper ("bị
# hỏng") is issued again too.
DOCUMENT_WORDS: frozenset[str] = frozenset(
    {"giay", "so", "the", "cmnd", "cancuoc", "chieu", "passport", "bang"}
)
KIN_WORDS: frozenset[str] = frozenset(
    {"ong", "bo", "me", "cha", "chong", "vo", "con", "chau", "noi", "ngoai", "than"}
)
LOST_THINGS: frozenset[str] = DOCUMENT_WORDS | frozenset(
    {"viec", "dien", "nuoc", "tien", "xe", "vi", "nha", "dat", "hang", "lien", "ngu"}
)


# Things whose loss is reported to the police ("mất xe", "mất ví"), not re-issued.
BELONGINGS: frozenset[str] = frozenset({"xe", "vi", "do", "laptop", "iphone", "oto"})
LOST_BELONGINGS = "matdo"
BROKEN_THING = "hongdo"
BROKEN_THINGS: frozenset[str] = BELONGINGS | frozenset(
    {"may", "thoai", "tivi", "ao", "quan", "mai", "tuong", "duong", "banh", "khoa"}
)

# Words skipped when looking for the relative before "mất" ("bố tôi vừa mới mất").
_PASSING_WORDS: frozenset[str] = frozenset({"toi", "minh", "em", "cua", "vua", "moi", "da"})


_RELATIVES: frozenset[str] = KIN_WORDS | {"ba", "anh", "chi", "nguoi"}

# "nhập khẩu" is importing goods next to goods ("nhập khẩu ô tô", "hàng nhập khẩu",
# "xuất nhập khẩu"), else registering in a household ("nhập khẩu cho con"): "nhập hộ
# khẩu". Importing becomes one off-topic token (see OFF_TOPIC_WORDS) unless an entry
# uses it ("nhập khẩu trang thiết bị y tế").
IMPORT = "nhapkhau"
_GOODS_AFTER: frozenset[str] = frozenset(
    {"hang", "xe", "oto", "may", "thiet", "trang", "trai", "thuc", "sua", "thit", "go"}
    | {"thep", "phan", "nguyen", "linh", "hoa", "san", "thuoc", "vat", "xang", "gao"}
)
_GOODS_BEFORE: frozenset[str] = frozenset(
    {"hang", "xuat", "thue", "cay", "pham", "may", "oto", "xe", "doanh"}
)
# "giá" (price) at the end of a question or before what is priced is off topic;
# "gia" is also "gia đình", "tham gia", "quốc gia", "người già", "ngoài giá thú".
PRICE = "giaca"
_PRICED: frozenset[str] = frozenset(
    {"nha", "dat", "thue", "xe", "oto", "ve", "thit", "ca", "rau", "gao", "dien", "nuoc"}
    | {"sua", "re", "ban", "mua", "thi", "truong", "hom"}
)
_NOT_PRICE_BEFORE: frozenset[str] = _RELATIVES | {
    "tham",
    "quoc",
    "chuyen",
    "cu",
    "tuoi",
    "lao",
}


def _senses(tokens: list[str]) -> list[str]:
    """Runs before the fillers go: "ba" (father) and "anh" (brother) are fillers."""
    out: list[str] = []
    for i, tok in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "khau" and i > 0 and tokens[i - 1] == "nhap" and out and out[-1] == "nhap":
            before = tokens[i - 2] if i > 1 else ""
            if after in _GOODS_AFTER or before in _GOODS_BEFORE:
                out[-1] = IMPORT
            else:
                out.extend(("ho", "khau"))
            continue
        before = tokens[i - 1] if i > 0 else ""
        if (
            tok == "gia"
            and (not after or after in _PRICED or after in ("khong", "chua"))
            and before not in _NOT_PRICE_BEFORE
        ):
            out.append(PRICE)
            continue
        # "đang" (in progress) folds onto "đăng" (register), which comes with "ký"
        if tok == "dang" and not after.startswith("k"):
            continue
        if tok in ("mat", "hong"):
            j = i - 1
            while j >= 0 and tokens[j] in _PASSING_WORDS:
                j -= 1
            before = tokens[j] if j >= 0 else ""
            after = tokens[i + 1] if i + 1 < len(tokens) else ""
            # a relative, or anyone ("người"); "ba", "anh", "chị" are fillers too
            # "người nhà", "ông nhà tôi" (my husband), "bà nhà"
            kin = before in _RELATIVES or (
                before == "nha" and j > 0 and tokens[j - 1] in _RELATIVES
            )
            if tok == "mat" and kin and tokens[i - 1 : i] != ["bi"] and after not in LOST_THINGS:
                out.extend(("qua", "doi"))
                continue
            around = tokens[max(0, i - 5) : i] + tokens[i + 1 : i + 4]
            if any(t in DOCUMENT_WORDS for t in around):
                out.extend((tok, "lamlai"))
                continue
            # lost belongings ("mất ví", "mất xe máy", "mất điện thoại") are a matter
            # for the police, not a procedure (an off-topic word, see OFF_TOPIC_WORDS)
            if tok == "mat" and (after in BELONGINGS or tokens[i + 1 : i + 3] == ["dien", "thoai"]):
                out.append(LOST_BELONGINGS)
                continue
            # a damaged thing that is not a paper ("xe máy bị hỏng") needs a repair shop
            if tok == "hong" and any(t in BROKEN_THINGS for t in around):
                out.append(BROKEN_THING)
                continue
        # wrong details on an ID card: it is issued again ("cccd sai ngày sinh")
        if tok == "sai" and any(t in ("cancuoc", "cmnd") for t in tokens[max(0, i - 4) : i]):
            out.extend(("sai", "lamlai"))
            continue
        out.append(tok)
    return out


def expand_phrases(tokens: list[str]) -> list[str]:
    """Stage 3 again, on tokens the matcher has corrected against the catalogue."""
    return _replace_phrases(tokens, _ABBREVIATION_TABLE)


def is_smalltalk(tokens: list[str]) -> bool:
    """True for small talk about the bot (tokens from ``tokens_of(..., drop_fillers=False)``
    with the courtesy phrases removed)."""
    words = list(tokens)
    while words and words[-1] in SMALLTALK_TAIL:
        words.pop()
    text = " ".join(words)
    if text in SMALLTALK_PHRASES:
        return True
    if not words or len(words) > SMALLTALK_MAX_WORDS:
        return False
    padded = f" {text} "
    return any(f" {marker} " in padded for marker in SMALLTALK_MARKERS)


def is_english(tokens: list[str]) -> bool:
    """True when (folded) tokens read as an English sentence: at least two words that
    are English and never a Vietnamese word once folded ("how", "what", "is", "need")."""
    return sum(tok in ENGLISH_MARKERS for tok in tokens) >= 2


def _english_stem(token: str) -> str:
    """A plural or possessive English word as its singular ("documents" → "document"),
    on both sides; only for words that are not Vietnamese syllables."""
    plural = len(token) >= 5 and token.endswith("s") and not token.endswith("ss")
    if plural and token.isalpha() and not is_syllable(token):
        return token[:-1]
    return token


def tokens_of(text: str, *, drop_fillers: bool = True, english: bool | None = None) -> list[str]:
    """Run the whole pipeline and return the tokens (``english``: force or forbid the
    English reading; by default it is detected)."""
    if "ch" in text or "CH" in text or "Ch" in text:
        # "chó" (a dog) folds onto the filler "cho"; read with its accent, it is a pet
        text = _DOG.sub(" thu cung ", unicodedata.normalize("NFC", text))
    folded = _SPACES.sub(" ", _PUNCT.sub(" ", fold(text))).strip()
    tokens = folded.split()
    if not tokens:
        return []
    if english is None:
        english = is_english(tokens)
    if english and drop_fillers:
        # English words that fold onto Vietnamese ones ("do", "the", "my", "can") are
        # fillers only in an English sentence; Telex repair would mangle the rest
        # ("how" → "ho", "when" → "hen").
        tokens = [tok for tok in tokens if tok not in ENGLISH_STOP]
    tokens = _replace_phrases(tokens, _ABBREVIATION_TABLE)
    # (not the off-topic words: "taxi" is not "tài" typed in Telex)
    if not english:
        tokens = [tok if tok in OFF_TOPIC_WORDS else repair_telex(tok) for tok in tokens]
    tokens = [_english_stem(tok) for tok in tokens]
    # Telex repair can reveal an abbreviation ("ddk" → "dk"); expand once more.
    tokens = _replace_phrases(tokens, _ABBREVIATION_TABLE)
    tokens = [SPELLING_VARIANTS.get(tok, tok) for tok in tokens]
    if drop_fillers:
        tokens = [tok for tok in _replace_phrases(tokens, _FILLER_TABLE) if tok]
        tokens = _senses(tokens)
        tokens = [tok for tok in tokens if tok not in FILLER_WORDS]
        # Off-topic phrases again, now that fillers inside them are gone ("bảo hiểm
        # cho xe máy", "tiền điện của nhà").
        tokens = _replace_phrases(tokens, _OFF_TOPIC_TABLE)
    return tokens


def normalize(text: str, *, drop_fillers: bool = True) -> str:
    """The normalised form of ``text``: folded, expanded, repaired, fillers dropped."""
    return " ".join(tokens_of(text, drop_fillers=drop_fillers))
