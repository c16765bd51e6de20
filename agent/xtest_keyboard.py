"""Typing on X11 through the XTEST extension, as a real keyboard would (what xdotool does).

Key events sent with XSendEvent (pynput's X11 keyboard) are marked synthetic: Xt/Xaw applications such as
xedit and xterm ignore them, and without a window manager (focus PointerRoot) they reach no window at all.
XTEST makes the X server itself press the key, so the event goes wherever real typing would go.

How a browser key event becomes a key press here:
- a named key (Enter, arrows, Shift, Ctrl...) presses the key bound to its keysym, modifiers untouched;
- a printable key types the character the rep's browser produced: the keycode and level (plain, Shift,
  AltGr, AltGr+Shift) carrying its keysym in this keyboard map are looked up, and Shift / AltGr are pressed
  or lifted around that one press only (Caps Lock counted), so nothing is left stuck;
- a character this keymap lacks (ă on a US keyboard) is bound to a spare keycode (one with no keysyms), typed,
  and the spare keycodes get their empty mapping back when control ends (a binding lives until then, or
  until the spare key is needed for another character, so an application that reads the new mapping late
  still sees the right character);
  Xt rebuilds its own keysym table on a MappingNotify only when the event is not older than its last fetch
  of the table, and skips some when they arrive mid-request (xedit and xterm then drop the character, with
  xdotool too); the mapping is therefore set twice, 20 ms apart, which was 12/12 and 6/6 typed here
  against 5/6 and 1/4 with one change;
- a release releases exactly the keycode its press pressed (held keys are kept by KeyboardEvent.code).

Used from one thread only (the agent's input thread); the X connection is opened there.
"""
from __future__ import annotations

import time

from .keymap import IGNORED_KEYS, SHORTCUT_CODES, x11_keysym, x11_keysym_named

NO_SYMBOL = 0
SHIFT_INDEX, LOCK_INDEX, CONTROL_INDEX = 0, 1, 2
GROUP1_COLUMNS = (0, 1, 4, 5)       # plain, Shift, AltGr, AltGr+Shift (2 and 3 belong to a second group)


class KeyboardMap:
    """A snapshot of the server's keyboard mapping and modifier mapping."""

    def __init__(self, display):
        first, last = display.display.info.min_keycode, display.display.info.max_keycode
        rows = display.get_keyboard_mapping(first, last - first + 1)
        self.rows = {first + i: list(row) for i, row in enumerate(rows)}
        self.modifiers = [list(codes) for codes in display.get_modifier_mapping()]
        self.places: dict[int, list[tuple[int, int]]] = {}      # keysym -> [(keycode, column)]
        for keycode, row in self.rows.items():
            for column in GROUP1_COLUMNS:
                if column < len(row) and row[column] != NO_SYMBOL:
                    self.places.setdefault(row[column], []).append((keycode, column))
        modifier_keycodes = {c for codes in self.modifiers for c in codes if c}
        self.spare = [code for code, row in self.rows.items()
                      if not any(row) and code not in modifier_keycodes]
        level3 = x11_keysym_named("ISO_Level3_Shift")
        self.level3_mask = 0
        for index, codes in enumerate(self.modifiers):
            if any(c and level3 in self.rows.get(c, ()) for c in codes):
                self.level3_mask |= 1 << index
        self.shift_key = self.first_keycode(x11_keysym_named("Shift_L"))
        self.level3_key = self.first_keycode(level3)

    def first_keycode(self, keysym: int) -> int | None:
        return next((code for code, _ in self.places.get(keysym, ())), None)

    def modifier_keycodes(self, mask: int) -> set[int]:
        return {c for index, codes in enumerate(self.modifiers) if mask & (1 << index) for c in codes if c}

    def shift_matters(self, keycode: int, column: int) -> bool:
        """Whether Shift changes what this key types at this level (not for ``space NoSymbol``)."""
        row = self.rows[keycode]
        base = column & ~1
        other = row[base + 1] if base + 1 < len(row) else NO_SYMBOL
        return other not in (NO_SYMBOL, row[base])


class XTestKeyboard:
    def __init__(self):
        self._display = None
        self._map: KeyboardMap | None = None
        self.pressed: dict[str, tuple[int, int]] = {}    # KeyboardEvent.code -> (keycode, keysym) held down
        self.bound: dict[int, int] = {}                  # spare keycode -> keysym bound to it, oldest first

    # -- the X connection and the keyboard map ---------------------------------------------------
    def _connect(self):
        if self._display is None:
            from Xlib import display as xdisplay
            d = xdisplay.Display()
            if not d.has_extension("XTEST"):
                d.close()
                raise RuntimeError("this X server has no XTEST extension: keys cannot be typed")
            self._display = d
        return self._display

    def _keymap(self) -> KeyboardMap:
        """The current map; read again after any MappingNotify (ours, or the customer changing layouts)."""
        from Xlib import X
        d = self._connect()
        while d.pending_events():
            if d.next_event().type == X.MappingNotify:
                self._map = None
        if self._map is None:
            self._map = KeyboardMap(d)
        return self._map

    def _fake(self, kind, keycode: int) -> None:
        from Xlib.ext import xtest
        xtest.fake_input(self._display, kind, keycode)

    # -- what the input backend calls ------------------------------------------------------------
    def key(self, code: str, key: str, down: bool) -> None:
        from Xlib import X
        if not down:
            held = self.pressed.pop(code, None)
            if held is not None:
                self._connect()
                self._fake(X.KeyRelease, held[0])
                self._display.sync()
            return
        if key in IGNORED_KEYS:
            return
        shortcut = self._shortcut_held() and not self._altgr_with_ctrl_held()
        target = x11_keysym(code, key, shortcut=shortcut)
        if target is None:
            raise ValueError(f"no key on this computer for {code!r} / {key!r}")
        keysym, printable = target
        keymap = self._keymap()
        place = self._place(keymap, keysym, printable)
        keycode = place[0]
        held = self.pressed.get(code)
        if held is not None and held[0] != keycode:     # a repeat that now means another key
            self._fake(X.KeyRelease, held[0])
        if printable:
            self._press_at_level(keymap, place, shortcut)
        else:
            self._fake(X.KeyPress, keycode)
        self.pressed[code] = (keycode, keysym)
        self._display.sync()

    def release_all(self) -> None:
        """Release every key still held and give the spare keycodes their empty mapping back."""
        if self._display is None:
            return
        from Xlib import X
        for keycode, _ in reversed(list(self.pressed.values())):
            self._fake(X.KeyRelease, keycode)
        self.pressed.clear()
        for keycode in list(self.bound):
            self._display.change_keyboard_mapping(keycode, [(NO_SYMBOL,)])
        self.bound.clear()
        self._display.sync()

    def close(self) -> None:
        try:
            self.release_all()
        finally:
            if self._display is not None:
                self._display.close()
                self._display = None
                self._map = None

    # -- finding and pressing the key ------------------------------------------------------------
    def _place(self, keymap: KeyboardMap, keysym: int, printable: bool) -> tuple[int, int]:
        """(keycode, column) that types ``keysym``; binds a spare keycode when the map has none."""
        places = keymap.places.get(keysym)
        if places:
            if not printable:
                return places[0]
            state = self._state()
            wanted_shift = bool(state & 1)
            # the place needing the fewest changes: no AltGr before AltGr, then the Shift already held
            return min(places, key=lambda p: (p[1] >= 4, (p[1] & 1) != wanted_shift, p[1]))
        return self._bind_spare(keymap, keysym), 0

    def _bind_spare(self, keymap: KeyboardMap, keysym: int) -> int:
        held = {keycode for keycode, _ in self.pressed.values()}
        free = [c for c in keymap.spare if c not in self.bound and c not in held]
        if free:
            keycode = free[0]
        else:
            reusable = [c for c in self.bound if c not in held]     # the binding used longest ago
            if not reusable:
                raise ValueError("no spare key left on this keyboard to type that character")
            keycode = reusable[0]
            del self.bound[keycode]
        for _ in range(2):     # twice: Xt apps may skip the first notification (see the module's text)
            self._display.change_keyboard_mapping(keycode, [(keysym, keysym)])
            self._display.sync()
            time.sleep(0.02)
        self.bound[keycode] = keysym
        self._map = None          # the MappingNotify comes; read the map again next time
        return keycode

    def _state(self) -> int:
        """The modifier state the server will give the next key event (real keys and ours)."""
        return self._display.screen().root.query_pointer().mask & 0xff

    def _shortcut_held(self) -> bool:
        """Whether the rep holds Ctrl, Alt (not AltGr) or Meta: the next key is a shortcut, not text."""
        alt_r = x11_keysym_named("Alt_R")
        return any(code in SHORTCUT_CODES or keysym == alt_r for code, (_, keysym) in self.pressed.items())

    def _altgr_with_ctrl_held(self) -> bool:
        """The rep holds AltGr and Ctrl: on Windows AltGr arrives as Ctrl+Alt, and that Ctrl is no shortcut."""
        level3 = x11_keysym_named("ISO_Level3_Shift")
        return any(keysym == level3 for _, keysym in self.pressed.values()) and any(
            code in ("ControlLeft", "ControlRight") for code in self.pressed)

    def _press_at_level(self, keymap: KeyboardMap, place: tuple[int, int], shortcut: bool) -> None:
        """Press ``place``'s key with Shift and AltGr as its level needs; put them back right after."""
        from Xlib import X
        keycode, column = place
        state = self._state()
        need_shift = bool(column & 1)
        if state & (1 << LOCK_INDEX) and not shortcut and self._caps_applies(keymap, keycode, column):
            need_shift = not need_shift         # Caps Lock already gives the other case
        have_shift = bool(state & 1)
        need_level3 = column >= 4
        have_level3 = bool(state & keymap.level3_mask)
        press, lift = [], set()
        if keymap.shift_matters(keycode, column) or column >= 4:
            if need_shift and not have_shift and keymap.shift_key:
                press.append(keymap.shift_key)
            elif have_shift and not need_shift:
                lift |= keymap.modifier_keycodes(1 << SHIFT_INDEX)
        if keymap.level3_mask:
            if need_level3 and not have_level3 and keymap.level3_key:
                press.append(keymap.level3_key)
            elif have_level3 and not need_level3:
                lift |= keymap.modifier_keycodes(keymap.level3_mask)
        if self._altgr_with_ctrl_held():
            lift |= keymap.modifier_keycodes(1 << CONTROL_INDEX)
        lift &= self._keys_down()
        for c in lift:
            self._fake(X.KeyRelease, c)
        for c in press:
            self._fake(X.KeyPress, c)
        self._fake(X.KeyPress, keycode)
        for c in reversed(press):
            self._fake(X.KeyRelease, c)
        for c in lift:
            self._fake(X.KeyPress, c)

    def _caps_applies(self, keymap: KeyboardMap, keycode: int, column: int) -> bool:
        """Caps Lock swaps the case of letters only (a key whose two levels are a lower and upper case)."""
        row = keymap.rows[keycode]
        base = column & ~1
        lower = row[base]
        upper = row[base + 1] if base + 1 < len(row) else NO_SYMBOL
        return _is_letter_pair(lower, upper)

    def _keys_down(self) -> set[int]:
        bits = self._display.query_keymap()
        return {i * 8 + b for i, byte in enumerate(bits) for b in range(8) if byte & (1 << b)}


def _is_letter_pair(lower: int, upper: int) -> bool:
    """Whether two keysyms are the lower and upper case of one letter (a/A, é/É, ă/Ă as Unicode keysyms)."""
    def char(keysym):
        if keysym < 0x100:
            return chr(keysym)
        if keysym & 0xff000000 == 0x01000000:
            return chr(keysym & 0xffffff)
        return None
    lo, up = char(lower), char(upper)
    return bool(lo and up and lo != up and lo.upper() == up)
