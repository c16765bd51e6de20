"""Small plugins used only by the tests: a probe that implements every hook and records each call,
and plugins that are broken in one precise way each."""
