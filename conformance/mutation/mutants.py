#!/usr/bin/env python3
"""Writes the mutants of a Python source file, one file each, and prints their list as JSON.

    python3 mutants.py SOURCE.py OUT_DIR

Each mutant changes one thing, found with the `ast` module and spliced into the source
text at the node's position, so the rest of the file (comments, layout) is unchanged:

- compare: a boundary shift (< and <=, > and >=) or a negation (== and !=, in and not
  in, is and is not);
- arith: an arithmetic or bitwise operator swapped (+ and -, * to +, // to *, % to //,
  << and >>, | and &);
- bool: `and` and `or` swapped; `not x` as `x`;
- constant: an integer n as n + 1 and n - 1, True and False swapped, a string compared
  with something emptied, the error code of a raised SafetensorsError changed;
- call: min(a, b) and max(a, b) as a or b; all and any swapped;
- delete: a statement replaced by `pass` (checks, assignments, calls, returns, loops);
- branch: an if's condition negated, its branches swapped; a conditional expression's
  values swapped; break and continue swapped.

The protocol plumbing (the functions in SKIP_FUNCTIONS: the request loop, the handshake,
dispatch and shutdown, and the `if __name__ == "__main__"` block) is left alone, as are
docstrings, f-strings and messages.

A mutant's key names its function, operator and change, so it stays the same when
unrelated lines move; keys that would repeat get #2, #3, ... in source order. Mutants
that do not compile or equal another are dropped.
"""

import ast
import hashlib
import json
import os
import sys

SKIP_FUNCTIONS = {"main", "emit", "handle"}
ERROR_CLASS = "SafetensorsError"
BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
NEGATION = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
            ast.Is: ast.IsNot, ast.IsNot: ast.Is}
ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.FloorDiv: ast.Mult,
         ast.Div: ast.Mult, ast.Mod: ast.FloorDiv, ast.LShift: ast.RShift,
         ast.RShift: ast.LShift, ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr,
         ast.Pow: ast.Mult}
DELETABLE = (ast.Raise, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.If, ast.For,
             ast.While, ast.Return, ast.Break, ast.Continue, ast.Delete)


def is_main_guard(stmt):
    """Whether a statement is `if __name__ == "__main__":`."""
    test = getattr(stmt, "test", None)
    return isinstance(stmt, ast.If) and isinstance(test, ast.Compare) and isinstance(
        test.left, ast.Name) and test.left.id == "__name__"


def short(node, limit=72):
    """One line of source for a node, for keys and reports."""
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Finder(ast.NodeVisitor):
    """Collects (node, operator, replacement) triples. A replacement is an AST node, or
    the string "pass" for a deleted statement."""

    def __init__(self):
        self.found = []
        self.function = "<module>"
        self.in_fstring = False
        self.in_compare = 0

    def add(self, node, operator, replacement):
        if not self.in_fstring:
            self.found.append((node, operator, replacement, self.function))

    # Scopes -------------------------------------------------------------------------
    def visit_FunctionDef(self, node):
        if node.name in SKIP_FUNCTIONS:
            return
        outer, self.function = self.function, node.name
        self.visit_body(node.body)
        for default in node.args.defaults:
            self.visit(default)
        self.function = outer

    def visit_ClassDef(self, node):
        self.visit_body(node.body)

    def visit_Module(self, node):
        self.visit_body(node.body)

    def visit_body(self, body):
        for i, stmt in enumerate(body):
            docstring = i == 0 and isinstance(stmt, ast.Expr) and isinstance(
                getattr(stmt, "value", None), ast.Constant) and isinstance(stmt.value.value, str)
            if docstring or is_main_guard(stmt):
                continue
            if isinstance(stmt, DELETABLE) and not (
                isinstance(stmt, (ast.Assign, ast.AnnAssign)) and self.function == "<module>"
            ):
                self.add(stmt, "delete", "pass")
            self.visit(stmt)

    def visit_JoinedStr(self, node):
        outer, self.in_fstring = self.in_fstring, True
        self.generic_visit(node)
        self.in_fstring = outer

    # Statements ---------------------------------------------------------------------
    def visit_If(self, node):
        negated = ast.If(test=ast.UnaryOp(op=ast.Not(), operand=node.test), body=node.body,
                         orelse=node.orelse)
        self.add(node, "branch", negated)
        if node.orelse:
            self.add(node, "branch", ast.If(test=node.test, body=node.orelse, orelse=node.body))
        self.visit(node.test)
        self.visit_body(node.body)
        self.visit_body(node.orelse)

    def visit_For(self, node):
        self.visit(node.iter)
        self.visit_body(node.body)
        self.visit_body(node.orelse)

    def visit_While(self, node):
        self.add(node, "branch", ast.While(test=ast.UnaryOp(op=ast.Not(), operand=node.test),
                                           body=node.body, orelse=node.orelse))
        self.visit(node.test)
        self.visit_body(node.body)
        self.visit_body(node.orelse)

    def visit_With(self, node):
        for item in node.items:
            self.visit(item.context_expr)
        self.visit_body(node.body)

    def visit_Try(self, node):
        self.visit_body(node.body)
        for handler in node.handlers:
            self.visit_body(handler.body)
        self.visit_body(node.orelse)
        self.visit_body(node.finalbody)

    def visit_Break(self, node):
        self.add(node, "branch", ast.Continue())

    def visit_Continue(self, node):
        self.add(node, "branch", ast.Break())

    # Expressions --------------------------------------------------------------------
    def visit_IfExp(self, node):
        self.add(node, "branch", ast.IfExp(test=node.test, body=node.orelse, orelse=node.body))
        self.generic_visit(node)

    def visit_Compare(self, node):
        for i, op in enumerate(node.ops):
            for table in (BOUNDARY, NEGATION):
                swap = table.get(type(op))
                if swap is not None:
                    ops = list(node.ops)
                    ops[i] = swap()
                    self.add(node, "compare", ast.Compare(left=node.left, ops=ops,
                                                          comparators=node.comparators))
        self.in_compare += 1
        self.generic_visit(node)
        self.in_compare -= 1

    def visit_BinOp(self, node):
        swap = ARITH.get(type(node.op))
        if swap is not None:
            self.add(node, "arith", ast.BinOp(left=node.left, op=swap(), right=node.right))
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self.add(node, "bool", ast.BoolOp(op=other, values=node.values))
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, (ast.Not, ast.USub)):
            self.add(node, "bool" if isinstance(node.op, ast.Not) else "arith", node.operand)
        self.generic_visit(node)

    def visit_Call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name in ("min", "max") and len(node.args) == 2 and not node.keywords:
            for arg in node.args:
                self.add(node, "call", arg)
        if name in ("all", "any"):
            swapped = ast.Call(func=ast.Name(id="any" if name == "all" else "all"),
                               args=node.args, keywords=node.keywords)
            self.add(node, "call", swapped)
        if name == ERROR_CLASS and node.args and isinstance(node.args[0], ast.Constant):
            code = node.args[0].value
            other = "invalid_shape" if code == "header_invalid_json" else "header_invalid_json"
            self.add(node.args[0], "constant", ast.Constant(value=other))
            for arg in node.args[1:]:
                self.visit(arg)  # messages are not mutated, but their calls may be
            return
        self.generic_visit(node)

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool):
            self.add(node, "constant", ast.Constant(value=not value))
        elif isinstance(value, int):
            self.add(node, "constant", ast.Constant(value=value + 1))
            self.add(node, "constant", ast.Constant(value=value - 1))
        elif isinstance(value, str) and self.in_compare:
            self.add(node, "constant", ast.Constant(value="" if value else "x"))


def line_offsets(data):
    """Byte offset of the start of each line (1-based line numbers index it)."""
    starts = [0, 0]
    for i, byte in enumerate(data):
        if byte == 0x0A:
            starts.append(i + 1)
    return starts


def splice(data, starts, node, replacement):
    """The source bytes with the node's span replaced (ast offsets are UTF-8 bytes)."""
    begin = starts[node.lineno] + node.col_offset
    end = starts[node.end_lineno] + node.end_col_offset
    if isinstance(node, ast.stmt):
        text = "pass" if replacement == "pass" else ast.unparse(ast.fix_missing_locations(replacement))
        if data[begin:begin + 4] == b"elif":  # an elif clause: it stays one, or becomes else: pass
            text = "else:\n    pass" if replacement == "pass" else "el" + text
        text = text.replace("\n", "\n" + " " * node.col_offset)
    else:
        text = "(" + ast.unparse(ast.fix_missing_locations(replacement)) + ")"
    return data[:begin] + text.encode("utf-8") + data[end:]


def main(argv):
    if len(argv) != 2:
        print("usage: mutants.py SOURCE.py OUT_DIR", file=sys.stderr)
        return 2
    source, out = argv
    with open(source, "rb") as file:
        data = file.read()
    tree = ast.parse(data, filename=source)
    finder = Finder()
    finder.visit(tree)
    starts = line_offsets(data)
    os.makedirs(out, exist_ok=True)
    mutants, seen, keys = [], {hashlib.sha256(data).hexdigest()}, {}
    dropped = 0
    for node, operator, replacement, function in finder.found:
        mutated = splice(data, starts, node, replacement)
        digest = hashlib.sha256(mutated).hexdigest()
        if digest in seen:
            dropped += 1
            continue
        try:
            compile(mutated, source, "exec")
        except SyntaxError:
            dropped += 1
            continue
        seen.add(digest)
        after = "pass" if replacement == "pass" else short(replacement)
        key = f"{function} {operator}: {short(node)} → {after}"
        keys[key] = keys.get(key, 0) + 1
        if keys[key] > 1:
            key += f" #{keys[key]}"
        path = os.path.join(out, f"mutant-{len(mutants):04d}.py")
        with open(path, "wb") as file:
            file.write(mutated)
        mutants.append({"key": key, "function": function, "operator": operator,
                        "line": node.lineno, "path": os.path.abspath(path),
                        "sha256": digest})
    json.dump({"source": os.path.abspath(source), "dropped": dropped, "mutants": mutants},
              sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
