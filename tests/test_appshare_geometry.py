"""What of an application window is sent: its rectangle clipped to the screen, minus what windows above
it cover. The rule both window listings (X11 and Win32) share; the X11 listing itself is tested on a real
X screen in tests/test_appshare.py, the Win32 one cannot run here (no Windows machine)."""
import importlib

from plugins.appshare.windows import visible_part


def test_a_window_partly_off_screen_is_clipped_and_covered_parts_are_relative_to_it():
    part = visible_part(7, (-50, 100, 400, 300), [(100, 150, 500, 50), (2000, 0, 10, 10)], (0, 0, 1280, 800))
    assert part == {"index": 7, "left": 0, "top": 100, "width": 350, "height": 300,
                    "covered": [(100, 50, 350, 100)]}


def test_a_window_off_screen_gives_nothing_and_one_fully_covered_is_covered_whole():
    assert visible_part(1, (1300, 0, 100, 100), [], (0, 0, 1280, 800)) is None
    part = visible_part(2, (10, 10, 100, 100), [(0, 0, 500, 500)], (0, 0, 1280, 800))
    assert part["covered"] == [(0, 0, 100, 100)]


def test_virtual_screens_left_of_zero_as_on_windows_with_two_monitors():
    part = visible_part(3, (-1900, 50, 800, 600), [], (-1920, 0, 3840, 1080))
    assert (part["left"], part["top"], part["width"], part["height"]) == (-1900, 50, 800, 600)


def test_the_win32_listing_imports_anywhere_and_loads_the_api_only_when_used():
    mod = importlib.import_module("plugins.appshare.windows_win32")
    assert mod._api is None and callable(mod.list_windows) and callable(mod.visible_region)
