#!/usr/bin/env python3
"""Checks the shape of the code: no import cycle between the modules of a crate, no function
longer than the agreed length except those listed with their reason in scripts/long-functions,
one integration-test binary per crate (every file of `tests/` a module of `tests/main.rs`), and
no HTTP client built but through engine::http_client (it installs rustls' provider first),
a `//!` header atop every file of a crate's `src/` (docs/architecture.md points to them), and
the server naming the UI crate only where it mounts the pages and server functions (`src/web/`):
everything else it shares with the UI comes from the domain crate, and the engine's SQL only in
its `store/` (a query, a query builder, or its pool reached from anywhere else fails).

Usage: python3 scripts/shape.py [--graph CRATE] [--lengths] [--self-test]

Read as text, without compiling: each file's `use` trees and `crate::`/`super::`/`self::` paths
name the modules it takes from. A path is the module of the longest prefix that is a file of the
crate, so `use crate::approvals::decide` is an arrow to `approvals/mod.rs` unless `decide.rs` exists.
A module's own `mod` lines and `pub use` re-exports of its children are not arrows (a folder's
`mod.rs` is its front door), nor is code under `#[cfg(test)]`: tests may reach anywhere.

A function's length is its lines from `fn` to its closing brace, counted in the crates' `src/`
(tests, benches and examples are not counted).
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["protocol", "domain", "engine", "server", "app", "macros", "chunk-merge", "site-build"]
LIMIT = 80
ALLOWED = os.path.join(ROOT, "scripts", "long-functions")


def strip(text):
    """The text with comments, string and char literals blanked (line breaks kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x[0-9a-fA-F]{2}'", text[i:i + 12]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x[0-9a-fA-F]{2}'", text[i:i + 12])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching_brace(text, open_at):
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def without_tests(text):
    """Blanks `#[cfg(test)]` items (keeping line breaks)."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(pub\s+)?(mod|fn|impl|use)\b", text)
        if not m:
            return text
        semicolon, brace = text.find(";", m.end()), text.find("{", m.end())
        if m.group(2) == "use" or brace < 0 or 0 <= semicolon < brace:
            # `use …;` or `mod x;` (its file is its own module: tests there are not read).
            end = semicolon if semicolon >= 0 else len(text) - 1
        else:
            end = matching_brace(text, brace)
        text = text[:m.start()] + "\n" * text.count("\n", m.start(), end + 1) + text[end + 1:]


def modules(crate):
    """{module path tuple: file} for the crate's library (or binary when it has no library)."""
    src = os.path.join(ROOT, crate, "src")
    found = {}
    root_file = "lib.rs" if os.path.exists(os.path.join(src, "lib.rs")) else "main.rs"
    for dirpath, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), src)
            parts = rel[:-3].split(os.sep)
            if rel in ("lib.rs", "main.rs"):
                if rel != root_file:
                    continue
                parts = []
            elif parts[0] == "bin":
                continue
            elif parts[-1] == "mod":
                parts = parts[:-1]
            found[tuple(parts)] = os.path.join(dirpath, name)
    return found


def use_paths(tree, prefix=""):
    """Expands a `use` tree (`a::{b, c::{d}}`) into whole paths."""
    tree = tree.strip()
    m = re.match(r"^([\w:]*?)(::)?\{(.*)\}$", tree, re.S)
    if not m:
        path = re.sub(r"\s+as\s+\w+$", "", tree)
        return [prefix + path] if path else []
    head = prefix + m.group(1) + ("::" if m.group(1) else "")
    parts, depth, start, body = [], 0, 0, m.group(3)
    for j, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:j])
            start = j + 1
    parts.append(body[start:])
    paths = []
    for part in parts:
        if part.strip() == "self":
            paths.append(head.rstrip(":"))
        elif part.strip():
            paths.extend(use_paths(part, head))
    return paths


def resolve(path, here, mods, is_dir):
    """The module a path names, or None for another crate's."""
    segs = [s for s in path.split("::") if s]
    if not segs:
        return None
    base = list(here) if is_dir else list(here[:-1]) if here else []
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] == "self":
        base, segs = list(here), segs[1:]
    elif segs[0] == "super":
        base = list(here)
        while segs and segs[0] == "super":
            base, segs = base[:-1], segs[1:]
    else:
        # A bare path: a module of this one's (`mod x;` then `x::f`), else not ours.
        if tuple(list(here) + segs[:1]) in mods:
            base = list(here)
        else:
            return None
    full = base + segs
    for k in range(len(full), -1, -1):
        if tuple(full[:k]) in mods:
            return tuple(full[:k])
    return None


def imports(crate):
    mods = modules(crate)
    graph = {m: set() for m in mods}
    for here, file in mods.items():
        text = without_tests(strip(open(file, encoding="utf-8").read()))
        is_dir = file.endswith("mod.rs") or not here
        paths = []
        for m in re.finditer(r"\b(pub(\([^)]*\))?\s+)?use\s+([^;]+);", text):
            public = bool(m.group(1))
            for p in use_paths(m.group(3)):
                target = resolve(p, here, mods, is_dir)
                # A folder's re-export of its own child is its front door, not an import.
                if public and target and len(target) > len(here) and target[: len(here)] == here:
                    continue
                paths.append(p)
        for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", re.sub(r"\buse\s+[^;]+;", "", text)):
            paths.append(m.group(1))
        for p in paths:
            target = resolve(p, here, mods, is_dir)
            if target is not None and target != here:
                # An item of a parent folder's own file is the folder's; a child's arrow to it
                # is kept (it is a real import), the folder's arrows to its children are not.
                if len(target) > len(here) and target[: len(here)] == here and is_dir:
                    continue
                graph[here].add(target)
    return mods, graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def folder_cycles(mods, graph):
    """Cycles between sibling modules counted whole: a folder's files and subfolders are one
    module at its parent's level, so `records` and `access` may not import each other through
    any of their files."""
    out = []
    parents = {m[:-1] for m in mods if m}
    for parent in sorted(parents):
        depth = len(parent) + 1
        kids = {m[:depth] for m in mods if len(m) >= depth and m[: len(parent)] == parent}
        if len(kids) < 2:
            continue
        sibling = {k: set() for k in kids}
        for src, targets in graph.items():
            if len(src) < depth or src[:depth] not in kids:
                continue
            for t in targets:
                if len(t) >= depth and t[: len(parent)] == parent and t[:depth] != src[:depth]:
                    sibling[src[:depth]].add(t[:depth])
        out.extend((comp, sibling) for comp in cycles(sibling))
    return out


def name(crate, mod):
    return crate + "::" + "::".join(mod) if mod else crate


def functions(crate):
    """(file, line, name, length) of every function in the crate's src/, tests left out."""
    src = os.path.join(ROOT, crate, "src")
    found = []
    for dirpath, _, files in os.walk(src):
        for fname in sorted(files):
            if not fname.endswith(".rs"):
                continue
            path = os.path.join(dirpath, fname)
            text = without_tests(strip(open(path, encoding="utf-8").read()))
            for m in re.finditer(r"\bfn\s+(\w+)", text):
                # The body opens at the first `{` after the signature; a `;` first is a declaration.
                j = m.end()
                depth = 0
                while j < len(text):
                    ch = text[j]
                    if ch in "(<[":
                        depth += 1
                    elif ch in ")>]" and depth:
                        depth -= 1
                    elif ch == ";" and depth == 0:
                        j = -1
                        break
                    elif ch == "{" and depth == 0:
                        break
                    j += 1
                if j < 0 or j >= len(text):
                    continue
                end = matching_brace(text, j)
                start_line = text.count("\n", 0, m.start()) + 1
                length = text.count("\n", m.start(), end) + 1
                found.append((os.path.relpath(path, ROOT), start_line, m.group(1), length))
    return found


def allowed():
    """{(file, function): reason} from scripts/long-functions."""
    out = {}
    if not os.path.exists(ALLOWED):
        return out
    for line in open(ALLOWED, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where, _, reason = line.partition(" ")
        file, _, fn = where.rpartition(":")
        out[(file, fn)] = reason.strip()
    return out


CLIENT_HOME = os.path.join("engine", "src", "http_client.rs")
# (crate, the crate it may name only in one folder, that folder): the server mounts the UI in web/.
WALLS = [("server", "app", os.path.join("src", "web"))]
# (crate, the folder its SQL lives in): the engine's queries are its store's.
SQL_HOMES = [("engine", os.path.join("src", "store"))]
SQL_RUN = re.compile(
    r"\bsqlx::(?:query\w*|raw_sql)\b|(?<![\w:])(?:query_as|query_scalar|raw_sql)\s*(?:::<[^>]*>)?\s*\("
    r"|\bQueryBuilder\b|\.pool\b"
)
CLIENT_BUILT = re.compile(r"\b(?:reqwest::)?(?:Client::(?:builder|new|default)|ClientBuilder::new)\s*\(\)|\breqwest::(?:get|blocking)\b")


def has_header(text):
    """Whether a file's first lines, past inner attributes and plain comments, are `//!` ones."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("//!"):
            return True
        if line and not line.startswith("#![") and not line.startswith("//"):
            return False
    return False


def house_rules():
    """What the layout promises beyond cycles and lengths: one message per broken promise."""
    said = []
    found_sql = {}
    for crate in CRATES:
        tests = os.path.join(ROOT, crate, "tests")
        files = sorted(f[:-3] for f in os.listdir(tests) if f.endswith(".rs")) if os.path.isdir(tests) else []
        if files and "main" not in files:
            said.append(f"{crate}/tests has no main.rs: its tests are one binary, declared there as modules")
        elif files:
            text = strip(open(os.path.join(tests, "main.rs"), encoding="utf-8").read())
            declared = set(re.findall(r"^\s*mod\s+(\w+)\s*;", text, re.M))
            for stem in files:
                if stem != "main" and stem not in declared:
                    said.append(f"{crate}/tests/{stem}.rs is not a module of {crate}/tests/main.rs, so it never runs: add `mod {stem};` there")
        for folder in ("src", "tests", "examples", "benches"):
            for dirpath, _, names in os.walk(os.path.join(ROOT, crate, folder)):
                for file in sorted(names):
                    path = os.path.join(dirpath, file)
                    rel = os.path.relpath(path, ROOT)
                    if not file.endswith(".rs"):
                        continue
                    raw = open(path, encoding="utf-8").read()
                    if folder == "src" and not has_header(raw):
                        said.append(f"{rel} does not open with a //! header: say in a line or two what the file holds")
                    text = strip(raw)
                    def outside(owner, home):
                        """Whether this is a file of `owner`'s src/ outside its folder `home`."""
                        inside = os.path.relpath(path, os.path.join(ROOT, owner))
                        return crate == owner and folder == "src" and not inside.startswith(home + os.sep)
                    for owner, home in SQL_HOMES:
                        if outside(owner, home):
                            runs = len(SQL_RUN.findall(without_tests(text)))
                            if runs:
                                found_sql[rel] = runs
                    for walled, other, door in WALLS:
                        if not outside(walled, door):
                            continue
                        for match in re.finditer(r"(?<![\w:])" + re.escape(other) + r"::", text):
                            line = text.count("\n", 0, match.start()) + 1
                            said.append(f"{rel}:{line}: {walled} names {other}:: outside {walled}/{door}: take it from the domain crate (or move the code into {door})")
                    if rel == CLIENT_HOME or "reqwest" not in text:
                        continue  # another crate's `Client` (a file naming no reqwest builds none of its)
                    for match in CLIENT_BUILT.finditer(text):
                        line = text.count("\n", 0, match.start()) + 1
                        said.append(f"{rel}:{line}: {match.group(0)} builds a client without a TLS provider (it panics): use engine::http_client::builder() or client()")
    for rel, runs in sorted(found_sql.items()):
        said.append(f"{rel} runs SQL outside its crate's store/ ({runs} queries, builders or uses of the pool): put it in a store module and call that")
    return said


def self_test():
    """The check fails on what it is for, and passes once it is mended: run by scripts/test."""
    import contextlib
    import io
    import tempfile

    global ROOT, CRATES, ALLOWED, WALLS, SQL_HOMES
    saved = ROOT, CRATES, ALLOWED, WALLS, SQL_HOMES

    def checked():
        """(exit status, what the check printed) of a run over the scratch crate."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = main([])
        return status, out.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "demo", "src")
        os.makedirs(os.path.join(src, "feature"))
        files = {
            "lib.rs": "mod a;\nmod b;\nmod feature;\n#[cfg(test)]\nmod tests;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "use crate::{a::A, feature::F};\npub struct B;\n",
            "feature/mod.rs": "pub mod inner;\npub use inner::F;\n",
            "feature/inner.rs": "pub struct F;\nfn long() {\n" + "    let _ = 1;\n" * 80 + "}\n",
            "tests.rs": "use crate::a::A;\n",
        }
        for name, text in files.items():
            with open(os.path.join(src, name), "w") as f:
                f.write(f"//! {name}, planted.\n" + text)
        ROOT, CRATES, ALLOWED = tmp, ["demo"], os.path.join(tmp, "long-functions")
        WALLS = [("demo", "ui", os.path.join("src", "web"))]
        SQL_HOMES = [("demo", os.path.join("src", "store"))]
        try:
            status, said = checked()
            assert status == 1, said
            assert "import cycle in demo: demo::a <-> demo::b" in said, said
            assert "fn long is 82 lines, over 80" in said, said
            with open(os.path.join(src, "a.rs"), "w") as f:
                f.write("//! a.rs, mended.\npub struct A;\n")
            with open(ALLOWED, "w") as f:
                f.write("# file:function reason\ndemo/src/feature/inner.rs:long a table read top to bottom\n")
            status, said = checked()
            assert status == 0, said
            # A folder taken whole: feature's file importing b closes a loop through b.
            with open(os.path.join(src, "feature", "inner.rs"), "a") as f:
                f.write("use crate::b::B;\n")
            status, said = checked()
            assert status == 1 and "demo::b <-> demo::feature" in said, said
            # A test file left out of the one test binary, and a client built around the provider.
            with open(os.path.join(src, "feature", "inner.rs"), "w") as f:
                f.write("//! inner.rs, its loop through b undone.\npub struct F;\nfn long() {\n" + "    let _ = 1;\n" * 80 + "}\n")
            os.makedirs(os.path.join(tmp, "demo", "tests"))
            for name, text in {"main.rs": "mod kept;\n", "kept.rs": "", "forgotten.rs": ""}.items():
                with open(os.path.join(tmp, "demo", "tests", name), "w") as f:
                    f.write(text)
            with open(os.path.join(src, "b.rs"), "a") as f:
                f.write("fn http() { let _ = reqwest::Client::new(); }\n")
            status, said = checked()
            assert status == 1, said
            assert "demo/tests/forgotten.rs is not a module of demo/tests/main.rs" in said, said
            assert "kept.rs" not in said, said
            assert "demo/src/b.rs:4: reqwest::Client::new() builds a client" in said, said
            with open(os.path.join(src, "headless.rs"), "w") as f:
                f.write("#![allow(dead_code)]\n// a plain comment is not a header\npub struct H;\n")
            _, said = checked()
            assert "demo/src/headless.rs does not open with a //! header" in said, said
            assert "demo/src/a.rs does not" not in said, said
            # The UI crate named outside the web folder (in a use tree and in a path), and inside it.
            os.makedirs(os.path.join(src, "web"))
            with open(os.path.join(src, "web", "mount.rs"), "w") as f:
                f.write("//! web/mount.rs, planted.\nuse ui::App;\n")
            with open(os.path.join(src, "a.rs"), "w") as f:
                f.write("//! a.rs, planted.\n// ui::Comment is not a use\nuse ui::{error::E};\nfn f() { ui::api::g(); }\n")
            _, said = checked()
            assert "demo/src/a.rs:3: demo names ui:: outside demo/src/web" in said, said
            assert "demo/src/a.rs:4: demo names ui::" in said, said
            assert "a.rs:2" not in said and "mount.rs" not in said, said
            # SQL outside the store (a query in a test module does not count), and in it.
            os.makedirs(os.path.join(src, "store"))
            with open(os.path.join(src, "store", "rows.rs"), "w") as f:
                f.write("//! store/rows.rs, planted.\nfn f() { sqlx::query(\"SELECT 1\"); }\n")
            with open(os.path.join(src, "b.rs"), "w") as f:
                f.write("//! b.rs, planted.\nfn f() { let _: i64 = sqlx::query_scalar(\"SELECT 1\"); }\n#[cfg(test)]\nmod tests { fn t() { sqlx::query(\"SELECT 2\"); } }\n")
            _, said = checked()
            assert "demo/src/b.rs runs SQL outside its crate's store/ (1 queries" in said, said
            assert "rows.rs" not in said, said
            # A query builder, and the store's pool reached from outside it.
            with open(os.path.join(src, "b.rs"), "w") as f:
                f.write("//! b.rs, planted.\nfn f(s: S) { let _ = sqlx::QueryBuilder::<Sqlite>::new(\"\"); s.store.pool.begin(); }\n")
            _, said = checked()
            assert "demo/src/b.rs runs SQL outside its crate's store/ (2 queries" in said, said
        finally:
            ROOT, CRATES, ALLOWED, WALLS, SQL_HOMES = saved
    print("shape: the self-test found the planted cycles, long function, lost test file, bare client, headerless file, UI named outside web/ and SQL outside the store")
    return 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    failed = False
    if "--graph" in argv:
        crate = argv[argv.index("--graph") + 1]
        _, graph = imports(crate)
        for mod in sorted(graph):
            print(name(crate, mod), "->", ", ".join(name(crate, t) for t in sorted(graph[mod])))
        return 0
    for crate in CRATES:
        mods, graph = imports(crate)
        for comp in cycles(graph):
            failed = True
            print(f"import cycle in {crate}: " + " <-> ".join(name(crate, m) for m in comp))
            members = set(comp)
            for m in comp:
                for t in sorted(graph[m] & members):
                    print(f"  {name(crate, m)} -> {name(crate, t)}")
        seen_files = {frozenset(c) for c in cycles(graph)}
        for comp, sibling in folder_cycles(mods, graph):
            if frozenset(comp) in seen_files:
                continue
            failed = True
            print(f"import cycle between folders in {crate}: " + " <-> ".join(name(crate, m) for m in comp))
            members = set(comp)
            for m in comp:
                for t in sorted(sibling[m] & members):
                    print(f"  {name(crate, m)}/ -> {name(crate, t)}/")
    for message in house_rules():
        failed = True
        print(message)
    listed = allowed()
    long = []
    for crate in CRATES:
        long.extend(f for f in functions(crate) if f[3] > LIMIT)
    long.sort(key=lambda f: -f[3])
    if "--lengths" in argv:
        for file, line, fn, length in long:
            print(f"{length:4} {file}:{line} {fn}")
    seen = set()
    for file, line, fn, length in long:
        seen.add((file, fn))
        if (file, fn) not in listed:
            failed = True
            print(f"{file}:{line}: fn {fn} is {length} lines, over {LIMIT}: split it, or list it with its reason in scripts/long-functions")
    for file, fn in sorted(set(listed) - seen):
        failed = True
        print(f"scripts/long-functions lists {file}:{fn}, which is not over {LIMIT} lines (or is gone): take it off the list")
    if len(listed) > 10:
        failed = True
        print(f"scripts/long-functions lists {len(listed)} functions; at most 10 may be over {LIMIT} lines")
    if not failed:
        listed_note = ", each listed with its reason" if long else ""
        print(f"shape: no import cycles in {len(CRATES)} crates; {len(long)} functions over {LIMIT} lines{listed_note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
