"""10,000 reloads of a 200-line module: memory stays flat and no old code object stays alive."""

import sys

import pytest


def module_source(version: int) -> str:
    helpers = "".join(
        f"def helper_{i}(x):\n    y = x + {i}\n    return y * 2\n\n" for i in range(60)
    )
    return helpers + f"def changing():\n    return {version}\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for RSS")
def test_ten_thousand_reloads_do_not_leak(project):
    project.write("m.py", module_source(0))
    assert project.path("m.py").read_text().count("\n") >= 200
    prog = project.start()
    prog.exec(
        """
        import gc, os, weakref, hotswap, m

        def rss_kb():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

        helpers = "".join(
            f"def helper_{i}(x):\\n    y = x + {i}\\n    return y * 2\\n\\n" for i in range(60)
        )
        old_codes = []

        def reload_many(start, count):
            for n in range(start, start + count):
                if n % 100 == 0:
                    old_codes.append(weakref.ref(m.changing.__code__))
                with open("m.py", "w") as f:
                    f.write(helpers + f"def changing():\\n    return {n}\\n")
                report = hotswap.reload_paths(["m.py"])
                assert report.updated == ["m.changing"], report
                assert m.changing() == n

        reload_many(1, 500)  # warm up: caches, allocator arenas
        gc.collect()
        before = rss_kb()
        reload_many(501, 10000)
        gc.collect()
        growth_kb = rss_kb() - before
        alive = sum(ref() is not None for ref in old_codes)
        """,
        timeout=600,
    )
    growth_kb = prog.eval("growth_kb")
    print(f"RSS growth over 10,000 reloads: {growth_kb} KB")
    assert prog.eval("alive") == 0
    assert growth_kb <= 2048
