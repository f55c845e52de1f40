"""Typed formulas, made safe: `compile_expression("x^2 + 10*y^2")` returns a NumPy function of
x and y.

The text goes through Python's own parser (`ast.parse`) but is never run: the tree is walked
against a whitelist (numbers, the variables, pi and e, + − * / **, unary ±, parentheses and
calls of a few NumPy functions by bare name) and turned into nested closures; anything else is
refused with an `ExpressionError` naming the piece. `^` means power, as learners type it: it is
replaced by `**` before parsing, so 2*x^2 is 2·x² (mapping Python's ^, exclusive or, to power
would have kept its low precedence and made it (2x)²). What the app's own titles write reads as
they mean it, so a title copied into the field works: − × · ÷ as operators, superscripts as
powers (x², y⁻¹), ½, and a product without its sign (2x, xy, 100(y − x²), (1 − x)(1 + x)).

Every number is a float and constant parts are folded once, in NumPy float64 under
np.errstate(all="ignore"): 9**9**9**9 is inf at once rather than a Python integer that never
finishes, and log(-1) is nan, not a warning. The result always has the inputs' broadcast shape
and dtype, so a constant formula still fills a contour grid and float32 stays float32.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Callable, NamedTuple, Union

import numpy as np

from gdplayground.config import shown

MAX_LENGTH = 500  # characters: room for any formula a learner types, none for a flood
MAX_DEPTH = 200  # levels of nesting (a sum of n terms is n deep); each costs Python stack frames

FUNCTIONS = {  # name: (NumPy function, number of arguments)
    **{name: (getattr(np, name), 1) for name in (
        "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
        "exp", "log", "log10", "sqrt", "abs")},
    "minimum": (np.minimum, 2),
    "maximum": (np.maximum, 2),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
SIGNS = {"^": "**", "−": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/", "½": "(1/2)"}
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-"))  # a run of them: "**" and the power
_TOKEN = re.compile(r"(?P<number>(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>[^\W\d]\w*)|(?P<space>\s+)|(?P<other>.)")
_OPERATORS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
             ast.Div: np.divide, ast.Pow: np.power}
_UNARY = {ast.UAdd: np.positive, ast.USub: np.negative}
_SYMBOLS = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<",
            ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.Invert: "~", ast.Not: "not",
            ast.And: "and", ast.Or: "or"}  # the operators refused, for their messages

_KINDS = {ast.Attribute: "the attribute access", ast.Subscript: "the indexing",
          ast.Lambda: "the lambda", ast.Compare: "the comparison", ast.IfExp: "the if-else",
          ast.NamedExpr: "the assignment", ast.Starred: "the unpacking",
          ast.JoinedStr: "the string", ast.ListComp: "the comprehension",
          ast.SetComp: "the comprehension", ast.DictComp: "the comprehension",
          ast.GeneratorExp: "the comprehension", ast.List: "the list", ast.Tuple: "the tuple",
          ast.Set: "the set", ast.Dict: "the dictionary",
          ast.Slice: "the slice"}  # what the refused parts of Python are called in messages

# A compiled piece: a Python float when it depends on no variable (folded), else a function of
# the variables' values. Python floats keep float32 inputs float32 (NumPy treats them as weak).
Piece = Union[float, Callable[[tuple], np.ndarray]]


class ExpressionError(ValueError):
    """A formula that cannot be read, or uses something outside the whitelist."""


def compile_expression(text: str,
                       variables: tuple[str, ...] = ("x", "y")) -> Callable[..., np.ndarray]:
    """The formula as a function of `variables` (NumPy arrays, positionally, in that order)."""
    source, tree = _parse(text, variables)
    with np.errstate(all="ignore"):
        piece = _Compiler(text, source, variables).compile(tree.body)

    def evaluate(*values) -> np.ndarray:
        if len(values) != len(variables):
            raise TypeError(f"the formula takes {len(variables)} arguments "
                            f"({', '.join(variables)}), not {len(values)}")
        arrays = tuple(_as_float(v) for v in values)
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        dtype = np.result_type(*arrays) if arrays else np.float64
        with np.errstate(all="ignore"):
            result = np.asarray(piece(arrays) if callable(piece) else piece, dtype=dtype)
        if result.shape != shape:  # a formula without some variable: fill the whole grid
            result = np.broadcast_to(result, shape).copy()
        return result

    evaluate.__doc__ = f"f({', '.join(variables)}) = {text.strip()}"
    return evaluate


class _Source(NamedTuple):
    """What Python parses, and for each of its characters (and its end) where it came from in
    what was typed: messages quote the user's own text and count its characters."""

    text: str
    origin: list[int]

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The typed span [start, end) of the parsed span [start, end)."""
        return self.origin[start], (self.origin[end - 1] + 1 if end > start else self.origin[start])


def _as_parsed(text: str, variables: tuple[str, ...]) -> _Source:
    return _with_products(_as_operators(text), variables)


def _as_operators(text: str) -> _Source:
    """One line whatever was pasted, ^ and the titles' signs as Python's operators, a run of
    superscripts as ** and its power."""
    parsed, origin = [], []
    for i, char in enumerate(text):
        if char in SUPERSCRIPTS:
            after_one = i > 0 and text[i - 1] in SUPERSCRIPTS
            char = SUPERSCRIPTS[char] if after_one else "**" + SUPERSCRIPTS[char]
        else:
            char = " " if char in "\r\n\t\f\v" else SIGNS.get(char, char)
        parsed.append(char)
        origin.extend([i] * len(char))
    return _Source("".join(parsed), origin + [len(text)])


def _with_products(source: _Source, variables: tuple[str, ...]) -> _Source:
    """A * where a product has no sign: between a number, a variable, a constant or a closing
    parenthesis and what follows it of those, a function or an opening parenthesis (2x, x y,
    100(y - x), (1 - x)(1 + x), 2sin(x)); a name made of variables and constants is their product
    (xy, pix). A name unknown stays whole, to be refused by name; a function's parenthesis is
    its call."""
    known = set(variables) | set(CONSTANTS)
    parsed, origin, ends_operand = [], [], False
    for token in _TOKEN.finditer(source.text):
        kind, piece, at = token.lastgroup, token.group(), token.start()
        if kind == "space":
            parsed.append(piece)
            origin.extend(source.origin[at:token.end()])
            continue
        parts = _factors(piece, known) if kind == "name" else None
        starts_operand = (kind == "number" or piece == "(" or bool(parts)
                          or (kind == "name" and piece in FUNCTIONS))
        if ends_operand and starts_operand:
            parsed.append("*")
            origin.append(source.origin[at])
        for k, part in enumerate(parts or [piece]):
            if k:
                parsed.append("*")
                origin.append(source.origin[at])
            parsed.append(part)
            origin.extend(source.origin[at:at + len(part)])
            at += len(part)
        ends_operand = kind == "number" or piece == ")" or bool(parts)
    return _Source("".join(parsed), origin + [source.origin[-1]])


def _factors(name: str, known: set[str]) -> list[str] | None:
    """`name` as the variables and constants it is written of (xy: x, y), or None."""
    if name in known:
        return [name]
    for word in sorted(known, key=len, reverse=True):
        rest = name[len(word):]
        factors = _factors(rest, known) if rest and name.startswith(word) else None
        if factors:
            return [word, *factors]
    return None


def _parse(text: str, variables: tuple[str, ...]) -> tuple[_Source, ast.Expression]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the formula is {len(text):,} characters long; "
                              f"at most {MAX_LENGTH} are allowed")
    if not text.strip():
        raise ExpressionError("the formula is empty; type one such as x^2 + 10*y^2")
    source = _as_parsed(text, variables)
    try:
        return source, ast.parse(source.text, mode="eval")
    except SyntaxError as exc:
        where = (exc.offset or 0) - 1
        place = (f"character {source.origin[where] + 1}" if 0 <= where < len(source.text)
                 else "the end")
        raise ExpressionError(f"the formula is not valid at {place}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # a null byte; absurd nesting
        raise ExpressionError(f"the formula cannot be read: {exc}") from None


def _as_float(value) -> np.ndarray:
    array = np.asarray(value)
    return array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float64)


class _Compiler:
    """Walks the parsed tree, refusing whatever is not whitelisted, and builds its closures."""

    def __init__(self, text: str, source: _Source, variables: tuple[str, ...]):
        self.text, self.source, self.variables = text, source, variables
        self.depth = 0

    def compile(self, node: ast.AST) -> Piece:
        self.depth += 1
        if self.depth > MAX_DEPTH:  # evaluating it would exhaust Python's stack
            raise ExpressionError(f"the formula nests more than {MAX_DEPTH} levels deep")
        try:
            return self._compile(node)
        finally:
            self.depth -= 1

    def _compile(self, node: ast.AST) -> Piece:
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            operands = [self.compile(node.left), self.compile(node.right)]
            return _combine(_OPERATORS[type(node.op)], operands)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _combine(_UNARY[type(node.op)], [self.compile(node.operand)])
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self.refuse(self._kind(node), node)

    def _number(self, node: ast.Constant) -> float:
        value = node.value
        if type(value) not in (int, float):  # bool, complex, str, bytes, None, ...
            kind = "the string" if isinstance(value, (str, bytes)) else "the constant"
            raise self.refuse(kind, node)
        try:
            return float(value)
        except OverflowError:  # an integer literal of hundreds of digits
            return math.inf

    def _name(self, node: ast.Name) -> Piece:
        if node.id in self.variables:
            index = self.variables.index(node.id)
            return lambda values: values[index]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise self.refuse("the function", node, " without its argument in parentheses")
        raise self.refuse("the unknown name", node)

    def _call(self, node: ast.Call) -> Piece:
        if not isinstance(node.func, ast.Name):
            self.compile(node.func)  # refuses attributes (np.sin), lambdas, ... by their kind
            raise self.refuse("the call", node, ": only functions are called, by name")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.refuse("the call", node, ": it is not a function a formula knows")
        if node.keywords:
            raise self.refuse("the keyword argument", node.keywords[0])
        function, arity = FUNCTIONS[name]
        if len(node.args) != arity:
            raise ExpressionError(f"{name} takes {arity} argument{'s' * (arity > 1)}, "
                                  f"not {len(node.args)}: {shown(self.segment(node))}")
        return _combine(function, [self.compile(arg) for arg in node.args])

    def _kind(self, node: ast.AST) -> str:
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.BoolOp)):
            return f"the operator {_SYMBOLS.get(type(node.op), type(node.op).__name__)} in"
        return _KINDS.get(type(node), f"the {type(node).__name__}")

    def refuse(self, kind: str, node: ast.AST, reason: str = "") -> ExpressionError:
        if not reason and isinstance(node, ast.Attribute) and node.attr in FUNCTIONS:
            reason = f" (write {node.attr}(...) by its bare name)"
        return ExpressionError(f"{kind} {shown(self.segment(node))} is not allowed{reason}; "
                               f"a formula may use {self._allowed()}")

    def segment(self, node: ast.AST) -> str:
        """The text the user typed for `node` (their ^ and 2x, not the ** and 2*x parsed)."""
        encoded = self.source.text.encode()  # ast gives columns in UTF-8 bytes
        start = len(encoded[:node.col_offset].decode())
        end = len(encoded[:node.end_col_offset].decode())
        typed_start, typed_end = self.source.original(start, end)
        return self.text[typed_start:typed_end]

    def _allowed(self) -> str:
        names = (" and " if len(self.variables) <= 2 else ", ").join(self.variables)
        unary = ", ".join(name for name, (_, arity) in FUNCTIONS.items() if arity == 1)
        return (f"numbers, {names}, pi, e, + - * / ** (or ^), parentheses, {unary}, "
                f"minimum(a, b) and maximum(a, b)")


def _combine(function, pieces: list[Piece]) -> Piece:
    """`function` of the pieces: folded to a float now if every piece is one, else a closure
    (one stack frame per level of the formula: MAX_DEPTH levels stay far from Python's limit)."""
    if all(isinstance(piece, float) for piece in pieces):
        return float(function(*(np.float64(piece) for piece in pieces)))
    parts = [piece if callable(piece) else (lambda values, c=piece: c) for piece in pieces]
    if len(parts) == 1:
        (only,) = parts
        return lambda values: function(only(values))
    left, right = parts
    return lambda values: function(left(values), right(values))
