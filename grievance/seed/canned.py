"""Demo canned responses: two per language, for the embedded default.

Data, not interface text: admins keep canned responses in the database
(the admin pages), each already written in its language. These rows only
give the demo something to pick from; they are added once, when there is
no canned response at all. Titles are for staff (Japanese / English); the
bodies are what the worker reads.
"""

from __future__ import annotations

from sqlalchemy import select

from grievance.cases.models import CannedResponse
from grievance.extensions import db

TITLES = ("受付 / Received", "安全確認 / Safety check")

# language -> (received, safety check)
BODIES: dict[str, tuple[str, str]] = {
    "vi": (
        "Cảm ơn bạn đã liên hệ với chúng tôi. Nhân viên tư vấn đã đọc tin nhắn của bạn và "
        "sẽ giúp bạn. Bạn có thể trả lời tại đây bất cứ lúc nào.",
        "Hiện giờ bạn có an toàn không? Nếu bạn đang gặp nguy hiểm, hãy gọi 110 (cảnh sát) "
        "hoặc 119 (cấp cứu).",
    ),
    "zh-Hans": (
        "感谢您联系我们。工作人员已经读了您的消息，会帮助您。您可以随时在这里回复。",
        "您现在安全吗？如果您有危险，请拨打110（警察）或119（急救）。",
    ),
    "fil": (
        "Salamat sa pakikipag-ugnayan sa amin. Nabasa na ng isang caseworker ang mensahe mo "
        "at tutulungan ka niya. Maaari kang sumagot dito anumang oras.",
        "Ligtas ka ba ngayon? Kung nasa panganib ka, tumawag sa 110 (pulis) o 119 (ambulansya).",
    ),
    "ne": (
        "हामीलाई सम्पर्क गर्नुभएकोमा धन्यवाद। एक जना केसवर्करले तपाईंको सन्देश पढ्नुभएको छ र "
        "तपाईंलाई सहयोग गर्नुहुनेछ। तपाईं जुनसुकै बेला यहाँ जवाफ दिन सक्नुहुन्छ।",
        "के तपाईं अहिले सुरक्षित हुनुहुन्छ? खतरामा हुनुहुन्छ भने 110 (प्रहरी) वा 119 (एम्बुलेन्स) मा फोन गर्नुहोस्।",
    ),
    "id": (
        "Terima kasih sudah menghubungi kami. Petugas kami sudah membaca pesan Anda dan akan "
        "membantu Anda. Anda bisa membalas di sini kapan saja.",
        "Apakah Anda aman sekarang? Jika Anda dalam bahaya, telepon 110 (polisi) atau 119 "
        "(ambulans).",
    ),
    "my": (
        "ဆက်သွယ်ပေးတဲ့အတွက် ကျေးဇူးတင်ပါတယ်။ ဝန်ထမ်းတစ်ဦးက သင့်စာကို ဖတ်ပြီးပါပြီ၊ "
        "သင့်ကို ကူညီပေးပါမယ်။ ဒီမှာ အချိန်မရွေး ပြန်စာရေးနိုင်ပါတယ်။",
        "အခု သင် လုံခြုံရဲ့လား။ အန္တရာယ်ရှိရင် 110 (ရဲ) သို့မဟုတ် 119 (လူနာတင်ယာဉ်) ကို ဖုန်းဆက်ပါ။",
    ),
    "pt-BR": (
        "Obrigado por entrar em contato. Uma pessoa da nossa equipe leu sua mensagem e vai "
        "ajudar você. Você pode responder aqui a qualquer momento.",
        "Você está em segurança agora? Se estiver em perigo, ligue 110 (polícia) ou 119 "
        "(ambulância).",
    ),
    "en": (
        "Thank you for contacting us. A caseworker has read your message and will help you. "
        "You can reply here at any time.",
        "Are you safe right now? If you are in danger, call 110 (police) or 119 (ambulance).",
    ),
    "ko": (
        "연락해 주셔서 감사합니다. 상담원이 메시지를 읽었으며 도와드리겠습니다. "
        "언제든지 여기에서 답장하실 수 있습니다.",
        "지금 안전하신가요? 위험하다면 110(경찰) 또는 119(구급차)에 전화하세요.",
    ),
    "th": (
        "ขอบคุณที่ติดต่อเรา เจ้าหน้าที่ได้อ่านข้อความของคุณแล้วและจะช่วยเหลือคุณ คุณตอบกลับที่นี่ได้ทุกเมื่อ",
        "ตอนนี้คุณปลอดภัยไหม ถ้าคุณอยู่ในอันตราย โทร 110 (ตำรวจ) หรือ 119 (รถพยาบาล)",
    ),
    "si": (
        "අප හා සම්බන්ධ වීම ගැන ස්තූතියි. නිලධාරියෙක් ඔබේ පණිවිඩය කියවා ඇති අතර ඔබට "
        "උදව් කරනු ඇත. ඔබට ඕනෑම වේලාවක මෙහි පිළිතුරු දිය හැක.",
        "ඔබ දැන් ආරක්ෂිතද? ඔබ අනතුරක නම්, 110 (පොලිසිය) හෝ 119 (ගිලන් රථය) අමතන්න.",
    ),
    "es": (
        "Gracias por escribirnos. Una persona de nuestro equipo leyó su mensaje y le va a "
        "ayudar. Puede responder aquí en cualquier momento.",
        "¿Está a salvo ahora? Si está en peligro, llame al 110 (policía) o al 119 (ambulancia).",
    ),
    "km": (
        "សូមអរគុណដែលបានទាក់ទងមកយើង។ បុគ្គលិកម្នាក់បានអានសាររបស់អ្នកហើយ "
        "ហើយនឹងជួយអ្នក។ អ្នកអាចឆ្លើយតបនៅទីនេះបានគ្រប់ពេល។",
        "តើអ្នកមានសុវត្ថិភាពឥឡូវនេះទេ? ប្រសិនបើអ្នកកំពុងមានគ្រោះថ្នាក់ "
        "សូមទូរស័ព្ទទៅលេខ 110 (ប៉ូលីស) ឬ 119 (រថយន្តសង្គ្រោះ)។",
    ),
    "mn": (
        "Бидэнтэй холбогдсонд баярлалаа. Манай ажилтан таны мессежийг уншсан бөгөөд танд "
        "туслах болно. Та хүссэн үедээ энд хариу бичиж болно.",
        "Та одоо аюулгүй байна уу? Аюулд орсон бол 110 (цагдаа) эсвэл 119 (түргэн тусламж) "
        "руу залгаарай.",
    ),
    "bn": (
        "আমাদের সাথে যোগাযোগ করার জন্য ধন্যবাদ। আমাদের একজন কর্মী আপনার বার্তা পড়েছেন "
        "এবং আপনাকে সাহায্য করবেন। আপনি যেকোনো সময় এখানে উত্তর দিতে পারেন।",
        "আপনি কি এখন নিরাপদ? বিপদে থাকলে 110 (পুলিশ) বা 119 (অ্যাম্বুলেন্স) নম্বরে ফোন করুন।",
    ),
    "ur": (
        "ہم سے رابطہ کرنے کا شکریہ۔ ہمارے ایک کارکن نے آپ کا پیغام پڑھ لیا ہے اور آپ کی مدد "
        "کریں گے۔ آپ کسی بھی وقت یہاں جواب دے سکتے ہیں۔",
        "کیا آپ اس وقت محفوظ ہیں؟ اگر آپ خطرے میں ہیں تو 110 (پولیس) یا 119 (ایمبولینس) پر "
        "کال کریں۔",
    ),
    "ja-x-easy": (
        "れんらく ありがとう ございます。たんとうしゃが あなたの メッセージを よみました。"
        "あなたを てつだいます。いつでも ここに へんじを かいて ください。",
        "いま あんぜんですか。あぶない ときは 110（けいさつ）か 119（きゅうきゅうしゃ）に "
        "でんわして ください。",
    ),
    "ja": (
        "ご連絡ありがとうございます。担当者がメッセージを読みました。これからお手伝いします。"
        "いつでもここに返信してください。",
        "今、安全な場所にいますか。危険なときは110（警察）か119（救急）に電話してください。",
    ),
}


def seed_canned() -> int:
    """Add the demo canned responses once; returns how many were added."""
    if db.session.scalar(select(CannedResponse.id).limit(1)) is not None:
        return 0
    added = 0
    for language, bodies in BODIES.items():
        for position, (title, body) in enumerate(zip(TITLES, bodies, strict=True)):
            db.session.add(
                CannedResponse(language=language, title=title, body=body, position=position)
            )
            added += 1
    db.session.flush()
    return added
