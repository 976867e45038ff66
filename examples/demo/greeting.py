"""Edit this file while the demo runs; save, and the next line printed uses your change."""


def greet(tick):
    # Try changing the text below, e.g. "Hello" -> "Bonjour", and save.
    return f"Hello from tick {tick}"


class Greeter:
    def __init__(self, name):
        self.name = name

    def describe(self):
        # Existing objects pick up new method code too: try `self.name.upper()`.
        return f"greeter of {self.name}"
