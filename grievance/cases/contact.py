"""A worker's safe-contact wishes (grievance.cases.messaging applies them).

Stored sealed in `Case.contact` as JSON:
``{"phone": "+8190...", "email": "...", "safe_windows": ["evening"], "own_phone": "shared"}``.
`Case.contact_method` (in the clear) says which channel, if any, may be used.
Times are Japan time; an empty list of windows means any time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

WINDOWS: dict[str, tuple[int, int]] = {
    "morning": (6, 12),
    "afternoon": (12, 18),
    "evening": (18, 22),
    "night": (22, 30),  # 22:00 to 06:00 the next day
}


@dataclass
class ContactWishes:
    phone: str | None = None
    email: str | None = None
    safe_windows: list[str] = field(default_factory=list)
    own_phone: str | None = None  # own | shared | employer

    @classmethod
    def from_json(cls, text: str | None) -> ContactWishes:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            phone=data.get("phone"),
            email=data.get("email"),
            safe_windows=[w for w in data.get("safe_windows", []) if w in WINDOWS],
            own_phone=data.get("own_phone"),
        )

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())
