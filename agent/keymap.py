"""KeyboardEvent.code / key (what the browser sends) -> the key pynput presses on this computer.

Named keys map by code (so the right key is hit whatever the layout); printable keys are typed by the
character the viewer produced (``key``), which pynput turns into this keyboard's keysym.
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


def key_name(code: str, key: str) -> str | None:
    """The pynput Key attribute name for a named key, or None for a printable key."""
    return NAMED.get(code)


def pynput_key(code: str, key: str):
    """What to pass to pynput's keyboard.press/release, or None when nothing fits."""
    from pynput.keyboard import Key, KeyCode
    name = key_name(code, key)
    if name is not None:
        return getattr(Key, name, None)
    if isinstance(key, str) and len(key) == 1:
        return KeyCode.from_char(key)
    if code.startswith("Key") and len(code) == 4:
        return KeyCode.from_char(code[3].lower())
    if code.startswith("Digit") and len(code) == 6:
        return KeyCode.from_char(code[5])
    return None
