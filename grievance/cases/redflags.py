"""Red flags: P0 and P1 signals in what a worker writes, in every language.

`scan(text)` is a pure function: it reads the text, the phrase lists below
and nothing else, and says which signals it found and the urgency they
call for. It never lowers an urgency; the caller keeps the more severe of
the two (`more_urgent`). The text is scanned against every language's list,
not only the case's language, because workers mix languages (English or
Japanese words inside a Vietnamese message are common).

Phrases are written the way workers actually write: first person, present
tense, everyday words, with and without accents where phones often drop
them. Matching is forgiving where that is safe:

* Latin-script languages (except Vietnamese) ignore accents and case and
  match whole words; a trailing ``*`` lets the last word continue
  ("machucad*" matches machucado and machucada).
* Vietnamese keeps its diacritics, because stripping them turns common
  words into alarms ("từ từ", slowly, would read as "tự tử", suicide);
  the lists add unaccented spellings only where they are unambiguous.
* Scripts written without spaces (Chinese, Japanese, Thai, Khmer, Burmese)
  are matched with all spaces removed, so "やさしい にほんご" written with
  or without spaces is found alike.
* Other scripts (Devanagari, Bengali, Sinhala, Urdu, Hangul, Mongolian
  Cyrillic) match as substrings, spaces optional, because their words take
  suffixes ("여권을", "पासपोर्टको").
* ``…`` inside a phrase allows a few words in between
  ("pregnant … go home" matches "pregnant and my boss says I must go home").
* A phrase starting with ``re:`` is a regular expression, used only where
  a plain phrase would also match innocent words.

Burmese must arrive in Unicode; intake converts Zawgyi before it gets here.
A miss is possible and a false alarm is cheap: caseworkers can lower an
urgency with a reason, but a missed P0 may cost a life, so the lists lean
towards raising.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Signal -> the urgency it calls for.
SIGNALS: dict[str, str] = {
    "violence_ongoing": "P0",
    "confinement": "P0",
    "suicide_intent": "P0",
    "forced_return": "P0",
    "passport_taken": "P1",
    "pregnancy_threat": "P1",
    "injury": "P1",
}

URGENCY_ORDER = ("P0", "P1", "P2", "P3")

# How each language is matched (see the module docstring).
WORDS, WORDS_EXACT, PLAIN, COMPACT = "words", "words_exact", "plain", "compact"

PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "vi": {
        "violence_ongoing": (
            "đánh tôi",
            "bị đánh",
            "đánh đập",
            "hành hung",
            "đấm đá",
            "danh dap",
            "bi danh dap",
            "dang danh toi",
        ),
        "confinement": (
            "nhốt tôi",
            "bị nhốt",
            "nhốt trong",
            "không cho ra ngoài",
            "không cho tôi ra ngoài",
            "không được ra ngoài",
            "không cho đi đâu",
            "không cho ra khỏi",
            "bi nhot",
            "khong cho ra ngoai",
        ),
        "suicide_intent": (
            "muốn chết",
            "tự tử",
            "tự sát",
            "không muốn sống",
            "kết thúc cuộc đời",
            "muon chet",
            "khong muon song",
        ),
        "forced_return": (
            "đưa tôi ra sân bay",
            "đưa ra sân bay",
            "chở tôi ra sân bay",
            "đưa tôi đến sân bay",
            "bắt về nước",
            "bắt tôi về nước",
            "ép về nước",
            "ép tôi về nước",
            "cưỡng chế về nước",
            "dua toi ra san bay",
        ),
        "passport_taken": (
            "giữ hộ chiếu",
            "lấy hộ chiếu",
            "thu hộ chiếu",
            "tịch thu hộ chiếu",
            "không trả hộ chiếu",
            "giữ thẻ ngoại kiều",
            "giữ thẻ lưu trú",
            "giu ho chieu",
        ),
        "pregnancy_threat": (
            "có thai … về nước",
            "mang thai … về nước",
            "có bầu … về nước",
            "phá thai",
            "pha thai",
        ),
        "injury": (
            "bị thương",
            "gãy tay",
            "gãy chân",
            "chảy máu",
            "đứt ngón tay",
            "tai nạn lao động",
            "bi thuong",
        ),
    },
    "zh-Hans": {
        "violence_ongoing": (
            "挨打",
            "殴打",
            "被打了",
            "打了我",
            "在打我",
            "天天打我",
            "经常打我",
            "被老板打",
            "踢我",
        ),
        "confinement": (
            "关起来",
            "把我关在",
            "把我锁在",
            "锁在宿舍",
            "锁在房间",
            "不让我出去",
            "不让出门",
            "不许出门",
            "不准外出",
            "软禁",
        ),
        "suicide_intent": ("想死", "自杀", "不想活了", "活不下去", "结束生命"),
        "forced_return": (
            "送我去机场",
            "带我去机场",
            "送去机场",
            "带去机场",
            "强制回国",
            "强迫回国",
            "强迫我回国",
            "逼我回国",
            "遣送回国",
        ),
        "passport_taken": (
            "扣护照",
            "扣押护照",
            "扣留护照",
            "扣着我的护照",
            "没收护照",
            "收走护照",
            "护照被扣",
            "护照被收",
            "拿走了我的护照",
            "在留卡被扣",
        ),
        "pregnancy_threat": (
            "怀孕 … 回国",
            "怀孕 … 辞退",
            "怀孕 … 开除",
            "堕胎",
            "打胎",
            "逼我流产",
        ),
        "injury": ("受伤", "骨折", "流血", "工伤", "手指断了", "不让我去医院", "不让去医院"),
    },
    "fil": {
        "violence_ongoing": (
            "sinasaktan ako",
            "sinasaktan kami",
            "binubugbog ako",
            "binugbog ako",
            "sinasampal ako",
            "sinusuntok ako",
            "pinagbubuhatan ng kamay",
        ),
        "confinement": (
            "ikinulong",
            "nakakulong",
            "kinukulong",
            "hindi ako pinapalabas",
            "hindi kami pinapalabas",
            "ayaw akong palabasin",
            "bawal lumabas",
        ),
        "suicide_intent": (
            "magpakamatay",
            "magpapakamatay",
            "gusto ko nang mamatay",
            "gusto kong mamatay",
            "ayoko nang mabuhay",
            "tapusin ang buhay ko",
        ),
        "forced_return": (
            "dadalhin ako sa airport",
            "dinala ako sa airport",
            "dadalhin … sa airport",
            "ihahatid … sa airport",
            "papauwiin ako",
            "pinapauwi ako",
            "pauuwiin na ako",
            "sapilitang pauwiin",
        ),
        "passport_taken": (
            "kinuha ang passport ko",
            "kinuha nila ang passport",
            "hawak nila ang passport",
            "hawak ng kumpanya ang passport",
            "kinumpiska ang passport",
            "ayaw ibalik ang passport",
            "kinuha … residence card",
        ),
        "pregnancy_threat": (
            "buntis … pauwiin",
            "buntis … pinapauwi",
            "buntis … tanggal",
            "ipalaglag",
            "magpalaglag",
        ),
        "injury": (
            "nasugatan",
            "naaksidente",
            "nabalian",
            "dumudugo",
            "napilayan",
            "ayaw akong dalhin sa ospital",
        ),
    },
    "ne": {
        "violence_ongoing": (
            "मलाई कुट्छ",
            "मलाई कुटे",
            "कुटिरहेको",
            "कुटपिट",
            "मलाई पिट्छ",
            "मलाई पिटे",
            "मलाई मार्छ",
        ),
        "confinement": (
            "थुनेर राख",
            "कोठामा थुने",
            "बाहिर जान दिँदैन",
            "बाहिर जान दिदैन",
            "बाहिर निस्कन दिँदैन",
            "बाहिर निस्कन दिदैन",
            "ताल्चा लगाएर",
        ),
        "suicide_intent": (
            "आत्महत्या",
            "मर्न मन लाग्यो",
            "मर्न मन लाग्छ",
            "मर्न चाहन्छु",
            "बाँच्न मन छैन",
            "बाच्न मन छैन",
        ),
        "forced_return": (
            "एयरपोर्ट लैजा",
            "एयरपोर्टमा लग",
            "एयरपोर्ट लग",
            "जबरजस्ती नेपाल",
            "जबरजस्ती फर्का",
            "जबरजस्ती घर पठा",
        ),
        "passport_taken": (
            "पासपोर्ट … खोस",
            "पासपोर्ट … राखेको",
            "पासपोर्ट … दिँदैन",
            "पासपोर्ट … दिदैन",
            "पासपोर्ट … फिर्ता दिएन",
        ),
        "pregnancy_threat": ("गर्भवती … फर्क", "गर्भवती … निकाल", "गर्भ तुहाउन", "गर्भपतन"),
        "injury": (
            "चोट लाग्यो",
            "घाइते",
            "हड्डी भाँचियो",
            "रगत बगिरहेको",
            "औंला काटियो",
            "अस्पताल जान दिँदैन",
            "अस्पताल जान दिदैन",
        ),
    },
    "id": {
        "violence_ongoing": (
            r"re:(?<!\w)dipukul(?!\w)(?!\s+rata)",
            "dipukuli",
            "memukul saya",
            "memukuli saya",
            "ditendang",
            "dianiaya",
            "menampar saya",
            "kekerasan fisik",
        ),
        "confinement": (
            "dikurung",
            "disekap",
            "dikunci di",
            "tidak boleh keluar",
            "tidak diizinkan keluar",
            "dilarang keluar",
            "tidak bisa keluar dari asrama",
        ),
        "suicide_intent": (
            "bunuh diri",
            "ingin mati",
            "mau mati",
            "pengen mati",
            "tidak mau hidup lagi",
            "mengakhiri hidup",
        ),
        "forced_return": (
            "dibawa ke bandara",
            "diantar ke bandara",
            "dibawa … bandara",
            "dipulangkan paksa",
            "dipaksa pulang",
            "memulangkan saya",
        ),
        "passport_taken": (
            "paspor saya ditahan",
            "paspor ditahan",
            "paspor disita",
            "paspor saya diambil",
            "menahan paspor",
            "paspor dipegang",
            "kartu zairyu ditahan",
        ),
        "pregnancy_threat": (
            "hamil … dipulangkan",
            "hamil … pulang",
            "hamil … dipecat",
            "menggugurkan",
            "gugurkan kandungan",
            "aborsi",
        ),
        "injury": (
            "terluka",
            "kecelakaan kerja",
            "patah tulang",
            "berdarah",
            "jari saya putus",
            "tidak boleh ke rumah sakit",
            "tidak dibawa ke rumah sakit",
        ),
    },
    "my": {
        "violence_ongoing": (
            "ရိုက်နှက်",
            "ကျွန်တော့်ကို ရိုက်",
            "ကျွန်မကို ရိုက်",
            "အရိုက်ခံ",
            "ထိုးကြိတ်",
            "ကန်ကျောက်",
        ),
        "confinement": (
            "အခန်းထဲမှာ ပိတ်ထား",
            "အခန်းထဲ ပိတ်ထား",
            "ပိတ်လှောင်",
            "အပြင်မထွက်ရ",
            "အပြင် ထွက်ခွင့်မပေး",
            "သော့ခတ်ထား",
            "ချုပ်နှောင်",
        ),
        "suicide_intent": (
            "သေချင်",
            "သတ်သေ",
            "အသက်မရှင်ချင်တော့",
            "မိမိကိုယ်ကို သတ်",
        ),
        "forced_return": (
            "လေဆိပ်ကို ခေါ်",
            "လေဆိပ် ပို့",
            "အတင်း ပြန်ပို့",
            "အဓမ္မ ပြန်ပို့",
            "မြန်မာပြည် ပြန်ပို့",
        ),
        "passport_taken": (
            "ပတ်စ်ပို့ … သိမ်း",
            "ပတ်စပို့ … သိမ်း",
            "နိုင်ငံကူးလက်မှတ် … သိမ်း",
            "ပတ်စ်ပို့ … ပြန်မပေး",
            "ပတ်စပို့ … ပြန်မပေး",
        ),
        "pregnancy_threat": (
            "ကိုယ်ဝန် … ပြန်ပို့",
            "ကိုယ်ဝန် … ပြန်ခိုင်း",
            "ကိုယ်ဝန် … အလုပ်ထုတ်",
            "ကိုယ်ဝန်ဖျက်",
        ),
        "injury": ("ဒဏ်ရာရ", "အရိုးကျိုး", "သွေးထွက်", "လက်ချောင်းပြတ်", "ဆေးရုံ မသွားရ", "ဆေးရုံ မပို့"),
    },
    "pt-BR": {
        "violence_ongoing": (
            "me bate",
            "me batem",
            "me batendo",
            "apanhando",
            "apanho todo dia",
            "me agride",
            "me agrediu",
            "me espanca",
            "espancad*",
        ),
        "confinement": (
            "trancad*",
            "me trancaram",
            "trancou a porta",
            "nao me deixam sair",
            "nao deixam a gente sair",
            "proibido sair",
            "preso no alojamento",
            "presa no alojamento",
            "presa no quarto",
            "preso no quarto",
        ),
        "suicide_intent": (
            "me matar",
            "quero morrer",
            "suicidio",
            "suicidar",
            "nao quero mais viver",
            "tirar minha vida",
            "acabar com a minha vida",
        ),
        "forced_return": (
            "levar … aeroporto",
            "levando … aeroporto",
            "levaram … aeroporto",
            "me obrigando a voltar",
            "voltar a forca",
            "me mandar de volta",
            "deportar",
        ),
        "passport_taken": (
            "pegou meu passaporte",
            "pegaram meu passaporte",
            "ficou com meu passaporte",
            "ficaram com meu passaporte",
            "retem meu passaporte",
            "reteve meu passaporte",
            "passaporte retido",
            "nao devolve meu passaporte",
            "confiscou meu passaporte",
        ),
        "pregnancy_threat": (
            "gravida … voltar",
            "gravida … demit*",
            "gravida … mandar embora",
            "abortar",
            "aborto",
            "tirar o bebe",
        ),
        "injury": (
            "machuquei",
            "machucad*",
            "ferid*",
            "acidente de trabalho",
            "quebrei o braco",
            "quebrei a perna",
            "quebrei a mao",
            "quebrei o pe",
            "quebrei o dedo",
            "sangrando",
            "nao ir ao hospital",
            "nao me levaram ao hospital",
        ),
    },
    "en": {
        "violence_ongoing": (
            "hits me",
            "hitting me",
            "beats me",
            "beating me",
            "beat me every day",
            "being beaten",
            "beats us",
            "hitting us",
            "kicks me",
            "punches me",
            "attacking me",
        ),
        "confinement": (
            "locked in the",
            "locked in my room",
            "locked inside",
            "locked me in",
            "locked us in",
            "locks us in",
            "keep me locked",
            "keeps me locked",
            "won't let me leave",
            "wont let me leave",
            "will not let me leave",
            "not allowed to leave",
            "not allowed to go out",
            "can't leave the dorm",
            "trapped in the",
            "trapped inside",
        ),
        "suicide_intent": (
            "kill myself",
            "want to die",
            "wanna die",
            "end my life",
            "suicide",
            "suicidal",
            "don't want to live",
            "dont want to live",
            "take my own life",
        ),
        "forced_return": (
            "taking me to the airport",
            "take me to the airport",
            "took me to the airport",
            "at the airport now",
            "send me home tomorrow",
            "send me home today",
            "sending me home tomorrow",
            "forcing me to go back",
            "force me to go back",
            "deport me",
        ),
        "passport_taken": (
            "took my passport",
            "taken my passport",
            "keeps my passport",
            "keeping my passport",
            "holding my passport",
            "has my passport",
            "confiscated my passport",
            "won't give back my passport",
            "won't give my passport",
            "took my residence card",
        ),
        "pregnancy_threat": (
            "pregnant … go home",
            "pregnant … go back",
            "pregnant … fire me",
            "pregnant … fired",
            "pregnant … quit",
            "get an abortion",
            "have an abortion",
            "force me to abort",
        ),
        "injury": (
            "injured",
            "got hurt",
            "i am hurt",
            "i'm hurt",
            "broke my arm",
            "broke my leg",
            "broke my hand",
            "broke my finger",
            "broke my wrist",
            "broken arm",
            "broken leg",
            "broken hand",
            "broken finger",
            "bleeding",
            "won't take me to the hospital",
            "not allowed to go to the hospital",
        ),
    },
    "ko": {
        "violence_ongoing": (
            "때려요",
            "때립니다",
            "때리고 있",
            "맞고 있어요",
            "폭행",
            "구타",
            "발로 차",
        ),
        "confinement": ("가둬", "감금", "갇혀", "밖에 못 나가", "나가지 못하게", "문을 잠가"),
        "suicide_intent": ("죽고 싶", "자살", "살고 싶지 않", "목숨을 끊"),
        "forced_return": (
            "공항으로 데려",
            "공항에 데려",
            "강제로 귀국",
            "강제 귀국",
            "강제 출국",
            "한국으로 돌려보내",
        ),
        "passport_taken": (
            "여권을 뺏",
            "여권을 빼앗",
            "여권을 가져갔",
            "여권을 안 돌려",
            "여권을 회사가",
            "여권 압수",
            "재류카드를 뺏",
        ),
        "pregnancy_threat": ("임신 … 귀국", "임신 … 그만두", "임신 … 해고", "낙태", "아이를 지우"),
        "injury": ("다쳤어요", "다쳤습니다", "부상", "골절", "피가 나", "산재", "병원에 못 가"),
    },
    "th": {
        "violence_ongoing": ("ทำร้ายร่างกาย", "ตบตี", "ทุบตี", "ถูกตี", "โดนตี", "โดนทำร้าย"),
        "confinement": (
            "ขังไว้",
            "ถูกขัง",
            "กักขัง",
            "ไม่ให้ออกไปข้างนอก",
            "ไม่ให้ออกจากหอ",
            "ล็อคห้อง",
            "ล็อกประตู",
        ),
        "suicide_intent": ("อยากตาย", "ฆ่าตัวตาย", "ไม่อยากมีชีวิตอยู่", "จบชีวิต"),
        "forced_return": (
            "พาไปสนามบิน",
            "ส่งไปสนามบิน",
            "ส่งกลับไทย",
            "บังคับให้กลับ",
            "ไล่กลับประเทศ",
        ),
        "passport_taken": (
            "ยึดพาสปอร์ต",
            "ยึดหนังสือเดินทาง",
            "เก็บพาสปอร์ต",
            "ไม่คืนพาสปอร์ต",
            "พาสปอร์ตถูกยึด",
            "ยึดบัตร",
        ),
        "pregnancy_threat": (
            "ท้อง … ส่งกลับ",
            "ท้อง … กลับประเทศ",
            "ตั้งครรภ์ … กลับ",
            "ท้อง … ไล่ออก",
            "ทำแท้ง",
            "เอาเด็กออก",
        ),
        "injury": (
            "บาดเจ็บ",
            "กระดูกหัก",
            "เลือดออก",
            "นิ้วขาด",
            "อุบัติเหตุจากการทำงาน",
            "ไม่ให้ไปโรงพยาบาล",
        ),
    },
    "si": {
        "violence_ongoing": (
            "මට ගහනවා",
            "අපිට ගහනවා",
            "මට ගැහුවා",
            "පහර දෙනවා",
            "පහර දුන්නා",
            "ගුටි කනවා",
        ),
        "confinement": (
            "කාමරේ වහලා",
            "එළියට යන්න දෙන්නේ නැහැ",
            "එළියට යන්න දෙන්නෑ",
            "හිර කරලා",
            "අගුළු දාලා",
        ),
        "suicide_intent": (
            "මැරෙන්න ඕනේ",
            "මැරෙන්න ඕන",
            "මැරෙන්න හිතෙනවා",
            "සියදිවි නසා",
            "දිවි නසා",
            "ජීවත් වෙන්න ඕනේ නැහැ",
        ),
        "forced_return": (
            "ගුවන් තොටුපළට",
            "එයාපෝට් එකට",
            "බලෙන් ලංකාවට",
            "ලංකාවට යවනවා",
            "ආපහු යවනවා",
        ),
        "passport_taken": (
            "පාස්පෝට් එක අරගෙන",
            "පාස්පෝට් එක ගත්තා",
            "පාස්පෝට් එක දෙන්නේ නැහැ",
            "පාස්පෝට් එක තියාගෙන",
            "ගමන් බලපත්‍රය … අරගෙන",
        ),
        "pregnancy_threat": ("ගැබිනි … යවනවා", "ගැබිනි … අයින් කර", "ගබ්සා"),
        "injury": (
            "තුවාල වුණා",
            "තුවාල",
            "කකුල කැඩුණා",
            "අත කැඩුණා",
            "ලේ යනවා",
            "ඉස්පිරිතාලෙට යන්න දෙන්නේ නැහැ",
        ),
    },
    "es": {
        "violence_ongoing": (
            "me pega",
            "me pegan",
            "me estan pegando",
            "me golpea",
            "me golpean",
            "golpeando",
            "me agrede",
            "me maltrata fisicamente",
        ),
        "confinement": (
            "encerrad*",
            "me encierran",
            "me encierra",
            "no me dejan salir",
            "no nos dejan salir",
            "prohibido salir",
        ),
        "suicide_intent": (
            "quiero morir",
            "quiero morirme",
            "suicidarme",
            "suicidio",
            "matarme",
            "no quiero vivir",
            "quitarme la vida",
        ),
        "forced_return": (
            "llevan al aeropuerto",
            "llevarme al aeropuerto",
            "llevaron al aeropuerto",
            "mandarme de regreso",
            "obligan a regresar",
            "regresar a la fuerza",
            "deportarme",
        ),
        "passport_taken": (
            "me quitaron el pasaporte",
            "tiene mi pasaporte",
            "retienen mi pasaporte",
            "retiene mi pasaporte",
            "se quedaron con mi pasaporte",
            "no me devuelven el pasaporte",
            "no me devuelve el pasaporte",
            "quitaron la tarjeta de residencia",
        ),
        "pregnancy_threat": (
            "embarazada … regresar",
            "embarazada … volver",
            "embarazada … despedir",
            "embarazada … despidieron",
            "abortar",
            "aborto",
        ),
        "injury": (
            "me lastime",
            "lastimad*",
            "herid*",
            "accidente de trabajo",
            "me rompi el brazo",
            "me rompi la pierna",
            "me rompi la mano",
            "me rompi el dedo",
            "sangrando",
            "no me dejan ir al hospital",
            "no me llevaron al hospital",
        ),
    },
    "km": {
        "violence_ongoing": ("វាយខ្ញុំ", "វាយដំ", "ត្រូវគេវាយ", "ទាត់ខ្ញុំ", "ធាក់ខ្ញុំ"),
        "confinement": (
            "ចាក់សោខ្ញុំ",
            "ចាក់សោបន្ទប់",
            "ចាក់សោទុក",
            "ឃុំខ្លួន",
            "មិនឱ្យចេញក្រៅ",
            "មិនអោយចេញក្រៅ",
            "មិនឲ្យចេញក្រៅ",
            "បិទទ្វារជាប់",
        ),
        "suicide_intent": ("ចង់ស្លាប់", "សម្លាប់ខ្លួន", "មិនចង់រស់", "អត្តឃាត"),
        "forced_return": (
            "យកទៅព្រលានយន្តហោះ",
            "នាំទៅព្រលានយន្តហោះ",
            "ជូនទៅព្រលានយន្តហោះ",
            "បង្ខំឱ្យត្រឡប់",
            "បង្ខំអោយត្រឡប់",
            "បង្ខំឲ្យត្រឡប់",
            "បញ្ជូនខ្ញុំត្រឡប់",
        ),
        "passport_taken": (
            "យកលិខិតឆ្លងដែន",
            "រឹបអូសលិខិតឆ្លងដែន",
            "ទុកលិខិតឆ្លងដែន",
            "យកប៉ាស្ព័រ",
            "លិខិតឆ្លងដែន … មិនប្រគល់",
            "លិខិតឆ្លងដែន … មិនឱ្យ",
        ),
        "pregnancy_threat": (
            "មានផ្ទៃពោះ … ត្រឡប់",
            "មានផ្ទៃពោះ … បណ្តេញ",
            "ពពោះ … ត្រឡប់",
            "រំលូតកូន",
        ),
        "injury": (
            "របួស",
            "បាក់ឆ្អឹង",
            "ហូរឈាម",
            "ដាច់ម្រាមដៃ",
            "គ្រោះថ្នាក់ការងារ",
            "មិនឱ្យទៅមន្ទីរពេទ្យ",
        ),
    },
    "mn": {
        "violence_ongoing": ("намайг зод", "зоддог", "зодож", "зодуул", "намайг цохи", "цохидог"),
        "confinement": (
            "түгжиж",
            "цоожилсон",
            "гадагш гаргахгүй",
            "гаргахгүй байна",
            "хорьсон",
            "хорьж байна",
        ),
        "suicide_intent": ("үхмээр", "амиа хорло", "амьдрахыг хүсэхгүй", "өөрийгөө алах"),
        "forced_return": (
            "нисэх буудал руу",
            "онгоцны буудал руу",
            "албадан буцаа",
            "хүчээр буцаа",
            "монгол руу буцаа",
        ),
        "passport_taken": (
            "паспортыг минь ав",
            "паспортыг авч",
            "паспортыг хураа",
            "паспорт өгөхгүй",
            "паспортаа авч чадахгүй",
            "оршин суух картыг ав",
        ),
        "pregnancy_threat": (
            "жирэмсэн … буцаа",
            "жирэмсэн … ажлаас гарга",
            "жирэмсэн … хална",
            "үр хөндө",
        ),
        "injury": (
            "гэмтсэн",
            "гэмтэл авсан",
            "яс хугарсан",
            "цус гарч",
            "эмнэлэгт явуулахгүй",
            "үйлдвэрлэлийн осол",
        ),
    },
    "bn": {
        "violence_ongoing": ("আমাকে মারে", "আমাকে মারধর", "মারধর করছে", "মারছে", "আঘাত করছে", "আমাকে পেটায়"),
        "confinement": (
            "আটকে রেখেছে",
            "তালা দিয়ে রেখেছে",
            "বাইরে যেতে দেয় না",
            "বের হতে দেয় না",
            "বন্দী করে রেখেছে",
        ),
        "suicide_intent": ("আত্মহত্যা", "মরে যেতে চাই", "মরতে চাই", "বাঁচতে চাই না", "নিজেকে শেষ করে"),
        "forced_return": (
            "এয়ারপোর্টে নিয়ে",
            "বিমানবন্দরে নিয়ে",
            "জোর করে দেশে",
            "দেশে ফেরত পাঠা",
        ),
        "passport_taken": (
            "পাসপোর্ট নিয়ে নিয়েছে",
            "পাসপোর্ট আটকে রেখেছে",
            "পাসপোর্ট দিচ্ছে না",
            "পাসপোর্ট কেড়ে নিয়েছে",
            "পাসপোর্ট ফেরত দিচ্ছে না",
            "রেসিডেন্স কার্ড নিয়ে নিয়েছে",
        ),
        "pregnancy_threat": ("গর্ভবতী … দেশে", "গর্ভবতী … চাকরি থেকে", "গর্ভপাত", "বাচ্চা নষ্ট"),
        "injury": (
            "আহত",
            "আঘাত পেয়েছি",
            "হাড় ভেঙে",
            "রক্ত পড়ছে",
            "হাসপাতালে যেতে দেয় না",
            "কাজের দুর্ঘটনা",
        ),
    },
    "ur": {
        "violence_ongoing": (
            "مجھے مارتے ہیں",
            "مجھے مارتا ہے",
            "مجھے مار رہا",
            "مجھے مار رہے",
            "مار پیٹ",
            "مجھے پیٹتے",
            "تشدد",
        ),
        "confinement": (
            "کمرے میں بند",
            "باہر جانے نہیں دیتے",
            "باہر جانے نہیں دیتا",
            "باہر نکلنے نہیں دیتے",
            "بند کر رکھا",
            "قید کر رکھا",
        ),
        "suicide_intent": (
            "خودکشی",
            "خود کشی",
            "مرنا چاہتا ہوں",
            "مرنا چاہتی ہوں",
            "جینا نہیں چاہتا",
            "جینا نہیں چاہتی",
            "اپنی جان لے",
        ),
        "forced_return": (
            "ایئرپورٹ لے جا",
            "ائیرپورٹ لے جا",
            "ہوائی اڈے لے جا",
            "زبردستی واپس",
            "زبردستی پاکستان",
        ),
        "passport_taken": (
            "پاسپورٹ لے لیا",
            "پاسپورٹ رکھ لیا",
            "پاسپورٹ واپس نہیں",
            "پاسپورٹ چھین",
            "پاسپورٹ ضبط",
        ),
        "pregnancy_threat": ("حاملہ … واپس", "حاملہ … نوکری سے", "اسقاط حمل", "حمل گرا"),
        "injury": ("زخمی", "چوٹ لگی", "ہڈی ٹوٹ", "خون بہہ رہا", "ہسپتال جانے نہیں دیتے"),
    },
    "ja-x-easy": {
        "violence_ongoing": (
            "なぐられ",
            "なぐります",
            "なぐって きます",
            "たたかれ",
            "ぼうりょく",
        ),
        "confinement": (
            "とじこめられ",
            "そとに でられない",
            "そとに でては いけない",
            "へやから でられない",
            "かぎを かけられ",
        ),
        "suicide_intent": (
            "re:(?<!わた)しにたい",
            "しんで しまいたい",
            "じさつ",
            "いきて いたくない",
        ),
        "forced_return": (
            "くうこうに つれて",
            "くうこうへ つれて",
            "むりやり くにに かえ",
            "くにに かえされ",
            "きこくさせられ",
        ),
        "passport_taken": (
            "パスポートを とられ",
            "パスポート … かえして くれない",
            "パスポート … かいしゃが もって",
            "パスポートを あずけさせられ",
            "ざいりゅうカードを とられ",
        ),
        "pregnancy_threat": (
            "にんしん … かえれ",
            "にんしん … くにに",
            "にんしん … やめて",
            "あかちゃん … おろせ",
        ),
        "injury": (
            "けがを しました",
            "けがを した",
            "ほねが おれ",
            "びょういんに いかせて くれない",
            "ろうさい",
        ),
    },
    "ja": {
        "violence_ongoing": (
            "殴られ",
            "殴る",
            "殴って",
            "叩かれ",
            "蹴られ",
            "暴力を受け",
            "暴力をふる",
            "暴力を振る",
        ),
        "confinement": (
            "閉じ込め",
            "監禁",
            "外に出られない",
            "外出させてもらえない",
            "外出禁止",
            "鍵をかけられ",
            "部屋から出られない",
        ),
        "suicide_intent": ("死にたい", "自殺", "消えたい", "生きていたくない", "命を絶"),
        "forced_return": (
            "空港に連れて",
            "空港へ連れて",
            "強制帰国",
            "強制的に帰国",
            "無理やり帰国",
            "帰国させられ",
            "国に帰され",
        ),
        "passport_taken": (
            "パスポートを取り上げ",
            "パスポートを取られ",
            "パスポートを預け",
            "パスポートを返してくれない",
            "パスポート … 会社が持って",
            "旅券を取り上げ",
            "在留カードを取り上げ",
        ),
        "pregnancy_threat": (
            "妊娠 … 帰国",
            "妊娠 … 帰れ",
            "妊娠 … 辞め",
            "妊娠 … 解雇",
            "中絶",
            "堕ろせ",
        ),
        "injury": (
            "怪我",
            "けがをし",
            "骨折",
            "出血",
            "労災",
            "病院に行かせてもらえない",
            "病院に行かせてくれない",
            "指を切断",
        ),
    },
}

MODES: dict[str, str] = {
    "vi": WORDS_EXACT,
    "zh-Hans": COMPACT,
    "fil": WORDS,
    "ne": PLAIN,
    "id": WORDS,
    "my": COMPACT,
    "pt-BR": WORDS,
    "en": WORDS,
    "ko": PLAIN,
    "th": COMPACT,
    "si": PLAIN,
    "es": WORDS,
    "km": COMPACT,
    "mn": PLAIN,
    "bn": PLAIN,
    "ur": PLAIN,
    "ja-x-easy": COMPACT,
    "ja": COMPACT,
}

GAP = "…"
# Invisible joiners differ between keyboards; Arabic-script letters have
# Arabic and Urdu forms that look alike. Both are folded before matching.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_LOOKALIKES = str.maketrans(
    {"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u06c1": "\u0647", "’": "'"}
)
_WORD_GAP = r"(?:\W+\w+){0,8}\W+"
_PLAIN_GAP = r".{0,40}?"
_COMPACT_GAP = r".{0,20}?"


@dataclass(frozen=True)
class RedFlags:
    """What a scan found: signal codes, and the urgency they call for."""

    signals: frozenset[str] = frozenset()

    @property
    def urgency(self) -> str | None:
        levels = [SIGNALS[s] for s in self.signals]
        return min(levels, key=URGENCY_ORDER.index) if levels else None

    def __bool__(self) -> bool:
        return bool(self.signals)


def _base(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_LOOKALIKES)
    return " ".join(text.casefold().split())


def _fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _compact(text: str) -> str:
    return "".join(text.split())


def _phrase_pattern(phrase: str, mode: str) -> str:
    if phrase.startswith("re:"):
        return phrase[3:]
    if mode == COMPACT:
        parts = [re.escape(_compact(_base(p))) for p in phrase.split(GAP)]
        return _COMPACT_GAP.join(parts)
    if mode == PLAIN:
        parts = [r"\s*".join(map(re.escape, _base(p).split())) for p in phrase.split(GAP)]
        return _PLAIN_GAP.join(parts)
    # Whole words, for scripts that separate words with spaces. Split at the
    # gap mark first: NFKC would turn "…" into "...".
    chunks = []
    for part in phrase.split(GAP):
        part = _fold_accents(_base(part)) if mode == WORDS else _base(part)
        words = []
        for word in part.split():
            words.append(re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word))
        chunks.append(r"\W+".join(words))
    return r"(?<!\w)" + _WORD_GAP.join(chunks) + r"(?!\w)"


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """One alternation per (mode, signal): a scan is a few dozen searches."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for lang, signals in PHRASES.items():
        mode = MODES[lang]
        for signal, phrases in signals.items():
            grouped.setdefault((mode, signal), []).extend(_phrase_pattern(p, mode) for p in phrases)
    return tuple(
        (mode, signal, re.compile("|".join(f"(?:{p})" for p in patterns)))
        for (mode, signal), patterns in sorted(grouped.items())
    )


def scan(text: str | None) -> RedFlags:
    """The red-flag signals in `text`, in any of the supported languages."""
    if not text or not text.strip():
        return RedFlags()
    base = _base(text)
    variants = {
        WORDS: _fold_accents(base),
        WORDS_EXACT: base,
        PLAIN: base,
        COMPACT: _compact(base),
    }
    found = {signal for mode, signal, rx in _compiled() if rx.search(variants[mode])}
    return RedFlags(frozenset(found))


def more_urgent(current: str, found: str | None) -> str:
    """The more severe of two urgencies; a scan never lowers one."""
    if found is None:
        return current
    return min(current, found, key=URGENCY_ORDER.index)
