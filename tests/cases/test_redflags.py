"""Red flags: P0 and P1 signals found in what workers write, in all 18 languages.

Each sentence is written the way a worker would write it to a help line,
not copied from the phrase lists. Every language has at least three P0
sentences (each a different signal where the language allows), at least
one P1 sentence and an everyday sentence that must raise nothing.
"""

from __future__ import annotations

import pytest

from grievance.cases import redflags
from grievance.i18n import LANGUAGES

# language -> (P0 sentences with their signal, P1 sentences with their signal, benign)
CASES: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]] = {
    "vi": (
        [
            ("Anh quản lý đánh tôi mỗi ngày, hôm nay lại đánh nữa.", "violence_ongoing"),
            ("Chúng tôi bị nhốt trong ký túc xá, không cho ra ngoài.", "confinement"),
            ("Tôi mệt lắm, tôi muốn chết.", "suicide_intent"),
            ("Nghiệp đoàn đang đưa tôi ra sân bay, tôi không muốn về.", "forced_return"),
            ("toi muon chet, khong ai giup toi", "suicide_intent"),
        ],
        [
            ("Công ty giữ hộ chiếu của tôi từ khi sang Nhật.", "passport_taken"),
            ("Tôi bị thương ở tay nhưng công ty không cho đi bệnh viện.", "injury"),
        ],
        ["Từ từ tôi sẽ gửi bảng lương. Công ty trả lương chậm hai tháng."],
    ),
    "zh-Hans": (
        [
            ("社长天天打我，昨天又打了我。", "violence_ongoing"),
            ("他们把我关在宿舍里，不让我出去。", "confinement"),
            ("我真的想死，活不下去了。", "suicide_intent"),
            ("监理团体明天要送我去机场，强制回国。", "forced_return"),
        ],
        [("公司扣着我的护照，不还给我。", "passport_taken"), ("我在工厂受伤了。", "injury")],
        ["请给我打电话。公司不付加班费。"],
    ),
    "fil": (
        [
            ("Sinasaktan ako ng amo ko araw-araw.", "violence_ongoing"),
            ("Nakakulong kami sa dorm, hindi kami pinapalabas.", "confinement"),
            ("Hindi ko na kaya, gusto ko nang mamatay.", "suicide_intent"),
            ("Bukas dadalhin ako sa airport para pauwiin.", "forced_return"),
        ],
        [
            ("Kinuha nila ang passport ko pagdating ko.", "passport_taken"),
            ("Nasugatan ang kamay ko sa makina.", "injury"),
        ],
        ["Hindi binayaran ang overtime ko ngayong buwan."],
    ),
    "ne": (
        [
            ("साहुले मलाई कुट्छ, हिजो पनि कुटे।", "violence_ongoing"),
            ("हामीलाई कोठामा थुनेर राखेको छ।", "confinement"),
            ("मलाई अब मर्न मन लाग्यो।", "suicide_intent"),
            ("भोलि मलाई एयरपोर्ट लैजाँदैछन्।", "forced_return"),
        ],
        [
            ("कम्पनीले मेरो पासपोर्ट लिएर राखेको छ।", "passport_taken"),
            ("काम गर्दा हात घाइते भयो।", "injury"),
        ],
        ["मेरो तलब तीन महिनादेखि आएको छैन।"],
    ),
    "id": (
        [
            ("Saya dipukul oleh atasan setiap hari.", "violence_ongoing"),
            ("Kami dikurung di asrama dan tidak boleh keluar.", "confinement"),
            ("Saya sudah tidak kuat, saya ingin mati saja.", "suicide_intent"),
            ("Besok saya dibawa ke bandara dan dipulangkan paksa.", "forced_return"),
        ],
        [
            ("Paspor saya ditahan oleh perusahaan.", "passport_taken"),
            ("Tangan saya terluka waktu kerja.", "injury"),
        ],
        ["Gaji saya dipukul rata, lembur tidak dibayar."],
    ),
    "my": (
        [
            ("သူဌေးက ကျွန်တော့်ကို နေ့တိုင်း ရိုက်နှက်တယ်။", "violence_ongoing"),
            ("ကျွန်မကို အခန်းထဲမှာ ပိတ်ထားတယ်။", "confinement"),
            ("ကျွန်တော် သေချင်တယ်။", "suicide_intent"),
            ("မနက်ဖြန် လေဆိပ်ကို ခေါ်သွားပြီး အတင်း ပြန်ပို့မယ်တဲ့။", "forced_return"),
        ],
        [
            ("ကုမ္ပဏီက ကျွန်တော့် ပတ်စ်ပို့ကို သိမ်းထားတယ်။", "passport_taken"),
            ("အလုပ်မှာ လက်ကို ဒဏ်ရာရတယ်။", "injury"),
        ],
        ["လစာ နှစ်လ မရသေးဘူး။"],
    ),
    "pt-BR": (
        [
            ("O encarregado me bate quando erro alguma coisa.", "violence_ongoing"),
            ("Estou trancada no alojamento, não me deixam sair.", "confinement"),
            ("Eu quero morrer, não aguento mais.", "suicide_intent"),
            ("Vão me levar para o aeroporto amanhã cedo.", "forced_return"),
        ],
        [
            ("A empreiteira pegou meu passaporte.", "passport_taken"),
            ("Machuquei a mão na fábrica e a empresa disse para não ir ao hospital.", "injury"),
        ],
        ["Não recebi o feriado e as horas extras."],
    ),
    "en": (
        [
            ("My supervisor hits me when I work slowly.", "violence_ongoing"),
            ("They locked us in the dormitory at night.", "confinement"),
            ("I can't go on, I want to die.", "suicide_intent"),
            ("The agency is taking me to the airport tomorrow morning.", "forced_return"),
        ],
        [
            ("The company took my passport when I arrived.", "passport_taken"),
            ("I'm pregnant and my boss says I have to go home.", "pregnancy_threat"),
            ("I got hurt at the factory last week.", "injury"),
        ],
        ["The company has not paid my overtime for two months. She broke my heart."],
    ),
    "ko": (
        [
            ("사장이 매일 저를 때려요.", "violence_ongoing"),
            ("기숙사에 갇혀 있어요. 밖에 못 나가요.", "confinement"),
            ("너무 힘들어서 죽고 싶어요.", "suicide_intent"),
            ("내일 공항으로 데려가서 강제로 귀국시킨대요.", "forced_return"),
        ],
        [
            ("회사가 여권을 빼앗았어요.", "passport_taken"),
            ("공장에서 손을 다쳤어요.", "injury"),
        ],
        ["월급을 두 달 동안 못 받았어요."],
    ),
    "th": (
        [
            ("หัวหน้าทำร้ายร่างกายฉันทุกวัน", "violence_ongoing"),
            ("นายจ้างขังไว้ในห้อง ไม่ให้ออกไปข้างนอก", "confinement"),
            ("ฉันอยากตาย ไม่ไหวแล้ว", "suicide_intent"),
            ("พรุ่งนี้เขาจะพาไปสนามบินแล้วส่งกลับไทย", "forced_return"),
        ],
        [
            ("บริษัทยึดพาสปอร์ตของฉันไว้", "passport_taken"),
            ("ฉันบาดเจ็บที่มือตอนทำงาน", "injury"),
        ],
        ["ปวดท้องนิดหน่อย แต่ยังไม่ได้ค่าล่วงเวลาเลย"],
    ),
    "si": (
        [
            ("සුපර්වයිසර් මට ගහනවා හැමදාම.", "violence_ongoing"),
            ("අපිව කාමරේ වහලා තියෙන්නේ.", "confinement"),
            ("මට මැරෙන්න ඕනේ, මට බෑ.", "suicide_intent"),
            ("හෙට මාව ගුවන් තොටුපළට අරන් යනවා කියනවා.", "forced_return"),
        ],
        [
            ("කම්පැනිය මගේ පාස්පෝට් එක අරගෙන.", "passport_taken"),
            ("වැඩ කරද්දී මගේ අත තුවාල වුණා.", "injury"),
        ],
        ["මට call එකක් ගහනවද? පඩිය තාම ලැබුණේ නැහැ."],
    ),
    "es": (
        [
            ("El jefe me pega cuando me equivoco.", "violence_ongoing"),
            ("Estamos encerrados en el dormitorio, no nos dejan salir.", "confinement"),
            ("Ya no aguanto, quiero morir.", "suicide_intent"),
            ("Mañana me llevan al aeropuerto para mandarme de regreso.", "forced_return"),
        ],
        [
            ("La empresa tiene mi pasaporte y no me lo devuelve.", "passport_taken"),
            ("Me lastimé la mano en la fábrica.", "injury"),
        ],
        ["No me pagaron las horas extras del mes pasado."],
    ),
    "km": (
        [
            ("មេការវាយខ្ញុំរាល់ថ្ងៃ", "violence_ongoing"),
            ("ក្រុមហ៊ុនមិនឱ្យចេញក្រៅទេ", "confinement"),
            ("ខ្ញុំចង់ស្លាប់ណាស់", "suicide_intent"),
            ("ស្អែកគេនឹងយកទៅព្រលានយន្តហោះ បង្ខំឱ្យត្រឡប់ទៅស្រុក", "forced_return"),
        ],
        [
            ("ក្រុមហ៊ុនយកលិខិតឆ្លងដែនរបស់ខ្ញុំ", "passport_taken"),
            ("ខ្ញុំរបួសដៃពេលធ្វើការ", "injury"),
        ],
        ["ខ្ញុំមិនទាន់បានប្រាក់ខែពីរខែហើយ"],
    ),
    "mn": (
        [
            ("Ахлах намайг зоддог, өчигдөр бас зодсон.", "violence_ongoing"),
            ("Биднийг өрөөнд түгжиж байна.", "confinement"),
            ("Би үхмээр байна.", "suicide_intent"),
            ("Маргааш намайг нисэх буудал руу аваачиж албадан буцаана.", "forced_return"),
        ],
        [
            ("Компани паспортыг минь авсан.", "passport_taken"),
            ("Ажил дээр гар минь гэмтсэн.", "injury"),
        ],
        ["Хоёр сарын цалин авч чадаагүй байна. Хорин хүн ажилладаг."],
    ),
    "bn": (
        [
            ("সুপারভাইজার আমাকে মারধর করে।", "violence_ongoing"),
            ("আমাদের ঘরে আটকে রেখেছে, বাইরে যেতে দেয় না।", "confinement"),
            ("আমি আর পারছি না, মরে যেতে চাই।", "suicide_intent"),
            ("কাল আমাকে এয়ারপোর্টে নিয়ে যাবে, জোর করে দেশে পাঠাবে।", "forced_return"),
        ],
        [
            ("কোম্পানি আমার পাসপোর্ট নিয়ে নিয়েছে।", "passport_taken"),
            ("কাজ করার সময় আমি আহত হয়েছি।", "injury"),
        ],
        ["তিন মাস ধরে বেতন পাইনি।"],
    ),
    "ur": (
        [
            ("سپروائزر مجھے مارتا ہے۔", "violence_ongoing"),
            ("ہمیں کمرے میں بند کر رکھا ہے۔", "confinement"),
            ("میں مرنا چاہتا ہوں۔", "suicide_intent"),
            ("کل مجھے ایئرپورٹ لے جا رہے ہیں، زبردستی واپس بھیج رہے ہیں۔", "forced_return"),
        ],
        [
            ("کمپنی نے میرا پاسپورٹ رکھ لیا ہے۔", "passport_taken"),
            ("کام کے دوران میں زخمی ہو گیا۔", "injury"),
        ],
        ["دو مہینے سے تنخواہ نہیں ملی۔"],
    ),
    "ja-x-easy": (
        [
            ("まいにち しゃちょうに なぐられます。", "violence_ongoing"),
            ("りょうに とじこめられて います。", "confinement"),
            ("もう しにたいです。", "suicide_intent"),
            ("あした くうこうに つれて いかれます。", "forced_return"),
        ],
        [
            ("かいしゃに パスポートを とられました。", "passport_taken"),
            ("しごとで けがを しました。", "injury"),
        ],
        [
            "わたしに たいして きゅうりょうが すくないです。わたしにたいして ざんぎょうだいが ありません。"
        ],
    ),
    "ja": (
        [
            ("実習生の友人が寮で殴られています。今も続いています。", "violence_ongoing"),
            ("部屋に閉じ込められて、外に出られない。", "confinement"),
            ("もう死にたいです。", "suicide_intent"),
            ("明日、空港に連れて行かれて強制帰国させられます。", "forced_return"),
        ],
        [
            ("会社にパスポートを取り上げられました。", "passport_taken"),
            ("妊娠したら帰国しろと言われました。", "pregnancy_threat"),
        ],
        ["残業代が払われていません。言葉がきついです。"],
    ),
}


def test_every_registered_language_has_phrases_and_cases() -> None:
    codes = {lang.code for lang in LANGUAGES}
    assert len(codes) == 18
    assert set(redflags.PHRASES) == codes
    assert set(redflags.MODES) == codes
    assert set(CASES) == codes
    for code, signals in redflags.PHRASES.items():
        p0 = [p for s, phrases in signals.items() if redflags.SIGNALS[s] == "P0" for p in phrases]
        assert len(p0) >= 3, code
        assert set(signals) == set(redflags.SIGNALS), code


@pytest.mark.parametrize("language", sorted(CASES))
def test_p0_phrases_raise_p0(language: str) -> None:
    p0, _, _ = CASES[language]
    assert len(p0) >= 3
    assert len({signal for _, signal in p0}) >= 3  # three different dangers, not one
    for sentence, signal in p0:
        found = redflags.scan(sentence)
        assert signal in found.signals, (language, sentence, found)
        assert found.urgency == "P0", (language, sentence)


@pytest.mark.parametrize("language", sorted(CASES))
def test_p1_phrases_raise_p1(language: str) -> None:
    _, p1, _ = CASES[language]
    for sentence, signal in p1:
        found = redflags.scan(sentence)
        assert signal in found.signals, (language, sentence, found)
        assert found.urgency == "P1", (language, sentence, found)


@pytest.mark.parametrize("language", sorted(CASES))
def test_everyday_complaints_raise_nothing(language: str) -> None:
    _, _, benign = CASES[language]
    for sentence in benign:
        found = redflags.scan(sentence)
        assert not found, (language, sentence, found)
        assert found.urgency is None


def test_worst_signal_wins_and_mixed_languages_are_found() -> None:
    found = redflags.scan("Công ty giữ hộ chiếu. Help, they locked me in my room!")
    assert found.signals == {"passport_taken", "confinement"}
    assert found.urgency == "P0"


def test_spelling_variants_are_forgiven() -> None:
    # Accents dropped, capitals, full-width letters, stray joiners.
    assert redflags.scan("NAO ME DEIXAM SAIR do alojamento").urgency == "P0"
    assert redflags.scan("ｉ ｗａｎｔ ｔｏ ｄｉｅ").urgency == "P0"
    assert redflags.scan("خود\u200cکشی کرنا چاہتا ہوں").urgency == "P0"
    # Arabic-keyboard letters in Urdu text.
    assert redflags.scan("میں مرنا چاهتا هوں").urgency == "P0"
    assert redflags.scan("پاسپورٹ رکھ ليا").urgency == "P1"
    # Easy Japanese with or without spaces between words.
    assert redflags.scan("りょうに とじこめられています").urgency == "P0"
    assert redflags.scan("りょうにとじこめられています").urgency == "P0"


def test_whole_words_only_in_spaced_languages() -> None:
    # "dipukul" inside another word, or "suicide" inside a longer one, are not signals.
    assert not redflags.scan("Kami dipukulkan? Tidak. Gajinya dipukul rata.")
    assert not redflags.scan("the word unsuicidely is not English")


def test_never_lowers_an_urgency() -> None:
    assert redflags.more_urgent("P0", "P1") == "P0"
    assert redflags.more_urgent("P3", "P1") == "P1"
    assert redflags.more_urgent("P2", None) == "P2"


def test_empty_text_finds_nothing() -> None:
    assert redflags.scan("").urgency is None
    assert redflags.scan(None).urgency is None
    assert not redflags.scan("   ")


def test_every_phrase_finds_itself() -> None:
    """A guard against phrases that normalisation would make unmatchable."""
    for language, signals in redflags.PHRASES.items():
        for signal, phrases in signals.items():
            for phrase in phrases:
                if phrase.startswith("re:"):
                    continue
                sample = phrase.replace("…", " and ").replace("*", "o")
                assert signal in redflags.scan(sample).signals, (language, phrase)
