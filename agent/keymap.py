"""KeyboardEvent.code / key (what the browser sends) -> the key to press on this computer.

Named keys map by code (so the right key is hit whatever the layout); printable keys are typed by the
character the viewer produced (``key``), so the customer gets the character the rep saw on their own
keyboard, whatever the two layouts are. Two sets of names: X11 keysym names (the XTEST keyboard,
agent/xtest_keyboard.py) and pynput's Key names (Windows and macOS).
"""
from __future__ import annotations

NAMED = {
    "Enter": "enter", "NumpadEnter": "enter", "Backspace": "backspace", "Tab": "tab", "Escape": "esc",
    "Space": "space", "Delete": "delete", "Insert": "insert", "Home": "home", "End": "end",
    "PageUp": "page_up", "PageDown": "page_down", "ArrowUp": "up", "ArrowDown": "down",
    "ArrowLeft": "left", "ArrowRight": "right", "ShiftLeft": "shift_l", "ShiftRight": "shift_r",
    "ControlLeft": "ctrl_l", "ControlRight": "ctrl_r", "AltLeft": "alt_l", "AltRight": "alt_gr",
    "MetaLeft": "cmd_l", "MetaRight": "cmd_r", "CapsLock": "caps_lock", "ContextMenu": "menu",
    "PrintScreen": "print_screen", "ScrollLock": "scroll_lock", "Pause": "pause", "NumLock": "num_lock",
    **{f"F{i}": f"f{i}" for i in range(1, 21)},
}

X11_NAMED = {
    "Enter": "Return", "NumpadEnter": "KP_Enter", "Backspace": "BackSpace", "Tab": "Tab", "Escape": "Escape",
    "Space": "space", "Delete": "Delete", "Insert": "Insert", "Home": "Home", "End": "End",
    "PageUp": "Prior", "PageDown": "Next", "ArrowUp": "Up", "ArrowDown": "Down",
    "ArrowLeft": "Left", "ArrowRight": "Right", "ShiftLeft": "Shift_L", "ShiftRight": "Shift_R",
    "ControlLeft": "Control_L", "ControlRight": "Control_R", "AltLeft": "Alt_L", "AltRight": "Alt_R",
    "MetaLeft": "Super_L", "MetaRight": "Super_R", "CapsLock": "Caps_Lock", "ContextMenu": "Menu",
    "PrintScreen": "Print", "ScrollLock": "Scroll_Lock", "Pause": "Pause", "NumLock": "Num_Lock",
    **{f"F{i}": f"F{i}" for i in range(1, 21)},
}
# Keys whose down state turns typing into a shortcut (ctrl+a, alt+f): then the key's plain character counts.
SHORTCUT_CODES = frozenset({"ControlLeft", "ControlRight", "AltLeft", "MetaLeft", "MetaRight"})
IGNORED_KEYS = frozenset({"Dead", "Process", "Compose"})   # the composed character comes with the next key


def key_name(code: str, key: str) -> str | None:
    """The pynput Key attribute name for a named key, or None for a printable key."""
    return NAMED.get(code)


def physical_char(code: str) -> str | None:
    """The character a US keyboard prints for a letter or digit key's code (KeyA -> a, Digit1 -> 1)."""
    if code.startswith("Key") and len(code) == 4 and code[3].isalpha():
        return code[3].lower()
    if code.startswith("Digit") and len(code) == 6 and code[5].isdigit():
        return code[5]
    return None


def typed_char(code: str, key: str, shortcut: bool) -> str | None:
    """The character a printable key event stands for, or None.

    During a shortcut (Ctrl, Alt or Meta held) a key that did not produce a plain ASCII character (macOS
    gives "ƒ" for alt+f) counts as its key's letter or digit, so ctrl+a and alt+f reach the application."""
    if isinstance(key, str) and len(key) == 1 and (not shortcut or " " < key < "\x7f"):
        return key
    return physical_char(code)


def x11_keysym(code: str, key: str, shortcut: bool = False, altgr: bool = False) -> tuple[int, bool] | None:
    """(keysym, printable) to press for a browser key event on X11, or None when nothing fits.

    ``altgr``: the key is AltRight and the rep's layout calls it AltGraph (level 3), not a second Alt."""
    if code == "AltRight" and (altgr or key == "AltGraph"):
        return x11_keysym_named("ISO_Level3_Shift"), False
    name = X11_NAMED.get(code)
    if name is not None:
        return x11_keysym_named(name), False
    char = typed_char(code, key, shortcut)
    keysym = char_keysym(char) if char else None
    return (keysym, True) if keysym else None


def x11_keysym_named(name: str) -> int:
    """The keysym called ``name`` (python-xlib knows the XKB ones, such as ISO_Level3_Shift, once loaded)."""
    from Xlib import XK
    XK.load_keysym_group("xkb")
    keysym = XK.string_to_keysym(name)
    if not keysym:
        raise ValueError(f"unknown keysym name {name!r}")
    return keysym


def char_keysym(char: str) -> int | None:
    """The keysym of one character: Latin-1 keysyms are the code point, EuroSign has its own, the rest
    are Unicode keysyms (0x01000000 + code point), which current X toolkits all translate."""
    point = ord(char)
    if 0x20 <= point <= 0x7e or 0xa0 <= point <= 0xff:
        return point
    if point == 0x20ac:
        return 0x20ac                     # EuroSign: the keysym layouts (AltGr+e, AltGr+5) carry
    if point < 0x100 or 0xd800 <= point <= 0xdfff:
        return None                       # control characters and lone surrogates type nothing
    return 0x01000000 | point


def pynput_key(code: str, key: str):
    """What to pass to pynput's keyboard.press/release, or None when nothing fits."""
    from pynput.keyboard import Key, KeyCode
    name = key_name(code, key)
    if name is not None:
        return getattr(Key, name, None)
    char = typed_char(code, key, shortcut=False)
    return KeyCode.from_char(char) if char else None
