"""hotswap demo: a program that keeps running while you edit it.

Run it with `./dev demo` (it runs a copy in demo/: edit demo/greeting.py there), or
`hotswap examples/demo/main.py` and edit greeting.py beside it.
"""

import time

from greeting import Greeter, greet

greeter = Greeter("world")
ticks = 0  # program state: survives every edit

while True:
    ticks += 1
    print(f"[{ticks:3}] {greet(ticks)} | {greeter.describe()}", flush=True)
    time.sleep(1)
