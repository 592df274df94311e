"""The expression language of `tinygrad-edu render` and `tinygrad-edu gradcheck`.

    d = 2*b; e = a + d; L = c*e

A program is `name = expression` statements separated by `;` or newlines; the
last statement may be a bare expression instead. Expressions are numbers,
names, `+ - * / **`, unary minus, parentheses and the calls
`exp log tanh sigmoid relu`. Python's `ast` module parses the text, and every
node is checked against that whitelist; nothing is ever evaluated by Python.
The checked program is compiled to a flat list of stack-machine steps, so even
a very long expression is run without recursion.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

from tinygrad_edu.engine import (
    BINARY_OPERATORS,
    FUNCTIONS,
    Value,
    apply,
    find_primitive,
    number_words,
)

# Python's syntax for each of the engine's binary operators, and what the symbol does, for
# Values and plain numbers alike (tinygrad_edu.testing uses it too).
_SYNTAX = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
              "**": operator.pow}
AST_OPERATORS = {kind: symbol for kind, symbol in _SYNTAX.items() if symbol in BINARY_OPERATORS}
APPLY_BINARY = {symbol: _OPERATORS[symbol] for symbol in BINARY_OPERATORS}
BARE_EXPRESSION = "_"  # the name under which a program's final bare expression is returned
MAX_SOURCE_LENGTH = 100_000

ALLOWED = "numbers, names, + - * / **, parentheses and the calls " + " ".join(FUNCTIONS)

# What a rejected construct is called in an error message.
_DESCRIPTIONS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda",
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "if-expressions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "the := operator",
    ast.Starred: "starred arguments",
}


class ExpressionError(ValueError):
    """A program outside the language, or unset inputs; `column` is 1-based (0 if unknown)."""

    def __init__(self, message: str, column: int = 0, line: int = 0) -> None:
        where = ""
        if column:
            where = f"line {line}, column {column}: " if line > 1 else f"column {column}: "
        super().__init__(where + message)
        self.column = column
        self.line = line


Number = Union[int, float]
# One stack-machine step: (kind, argument, line, column); kinds are
# "number", "name", "binary", "negate", "call". The kind decides the argument, which a type
# checker cannot follow through the tuple: a number's float, the name of a variable, an
# operator or a function, or None for "negate".
Step = Tuple[str, Any, int, int]


@dataclass(frozen=True)
class Statement:
    """One `target = expression` (target is BARE_EXPRESSION for a bare final expression)."""

    target: str
    steps: Tuple[Step, ...]


@dataclass(frozen=True)
class Program:
    """A checked program, ready to run on input values any number of times."""

    statements: Tuple[Statement, ...]
    input_names: Tuple[str, ...]  # read but never assigned, in order of first use

    @property
    def output(self) -> str:
        """The name of the program's result: its last assignment, or BARE_EXPRESSION."""
        return self.statements[-1].target

    def evaluate(self, inputs: Mapping[str, Union[Number, Value]]) -> Dict[str, Value]:
        """Run the program on the given inputs; every variable's Value, labelled with its name.

        Inputs given as numbers become leaf Values. A missing or unknown input
        raises ExpressionError; a domain error (log(0), 1/0) raises the
        engine's ValueError, ZeroDivisionError or OverflowError.
        """
        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise ExpressionError(
                f"{_names(missing)} not set: give {'it' if len(missing) == 1 else 'them'} "
                f"a value, e.g. --set {missing[0]}=1.0"
            )
        unknown = [name for name in inputs if name not in self.input_names]
        if unknown:
            expected = ", ".join(self.input_names) or "no inputs"
            raise ExpressionError(
                f"{_names(unknown)} set but not used by the program (its inputs: {expected}); "
                f"check the spelling"
            )
        variables: Dict[str, Union[float, Value]] = {}
        for name in self.input_names:
            given = inputs[name]
            variables[name] = given if isinstance(given, Value) else Value(given, label=name)
        for statement in self.statements:
            result = _run(statement.steps, variables)
            if not isinstance(result, Value):
                result = Value(result)
            if not result.label and statement.target != BARE_EXPRESSION:
                result.label = statement.target
            variables[statement.target] = result
        return {name: value for name, value in variables.items() if isinstance(value, Value)}

    def result(self, inputs: Dict[str, Union[Number, Value]]) -> Value:
        """Run the program and return only its output Value."""
        return self.evaluate(inputs)[self.output]


def parse_program(source: str) -> Program:
    """Check a program against the whitelist and compile it; ExpressionError if outside it."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"program is {len(source)} characters long; "
                              f"the limit is {MAX_SOURCE_LENGTH}")
    if "\0" in source:
        line = source.count("\n", 0, source.index("\0")) + 1
        raise ExpressionError(f"the program contains a NUL character (on line {line}); "
                              f"is it a text file?")
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as problem:
        raise ExpressionError(_syntax_message(problem.msg), problem.offset or 0,
                              problem.lineno or 0) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("program is nested too deeply or chains too many operators "
                              "for the parser; split it into several statements") from None
    if not tree.body:
        raise ExpressionError("empty program: write an expression such as  L = c * (a + 2*b)")

    statements: List[Statement] = []
    assigned: set = set()
    input_names: List[str] = []
    for index, node in enumerate(tree.body):
        last = index == len(tree.body) - 1
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                raise _rejected(node, "only `name = expression` assignments")
            target = node.targets[0].id
            if target in FUNCTIONS:
                raise _error_at(node.targets[0], f"{target} is a function name, not a variable")
            value = node.value
        elif isinstance(node, ast.Expr):
            if not last:
                raise _rejected(node, "a bare expression (only the last statement may be one)")
            target, value = BARE_EXPRESSION, node.value
        else:
            raise _rejected(node, _describe(node))
        steps = _compile(value)
        for kind, name, _line, _column in steps:
            if kind == "name" and name not in assigned and name not in input_names:
                input_names.append(name)
        if target in input_names:
            raise _error_at(node, f"{target} is read before it is assigned; assign it first "
                                  f"or give it with --set")
        assigned.add(target)
        statements.append(Statement(target, steps))
    return Program(tuple(statements), tuple(input_names))


def _syntax_message(message: str) -> str:
    """Python's SyntaxError message, worded for this language and without Python's advice."""
    digits = re.search(r"value has (\d+) digits", message or "")
    if digits:  # a literal longer than Python turns into an int
        return f"a number of {digits.group(1)} digits is too large for a float"
    # Drop the "(detected at line 1)" Python adds; keep the rest whole.
    return re.sub(r" \(detected at line \d+\)$", "", message or "invalid syntax")


def parse_settings(settings: Sequence[str]) -> Dict[str, float]:
    """Turn `["a=3", "b=1"]` (the words after --set) into `{"a": 3.0, "b": 1.0}`."""
    values: Dict[str, float] = {}
    for setting in settings:
        name, equals, number = setting.partition("=")
        name = name.strip()
        shown = _shortened(repr(setting), 60)
        if not equals or not name.isidentifier():
            raise ExpressionError(f"--set {shown}: expected NAME=NUMBER, e.g. a=3")
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(
                f"--set {shown}: {_shortened(repr(number.strip()))} is not a number"
            ) from None
        if not math.isfinite(value):
            raise ExpressionError(f"--set {shown}: the value must be a finite number")
        if name in values:
            raise ExpressionError(f"--set: {name} is given twice")
        values[name] = value
    return values


# ---------------------------------------------------------------- compiling
def _compile(root: ast.expr) -> Tuple[Step, ...]:
    """Check an expression tree and turn it into postfix steps, with no recursion."""
    steps: List[Step] = []
    # Each entry is a node to visit, or a finished step to emit once its operands are emitted.
    pending: List[Union[ast.AST, Step]] = [root]
    while pending:
        item = pending.pop()
        if isinstance(item, tuple):
            steps.append(item)
            continue
        node = item
        line, column = getattr(node, "lineno", 0), getattr(node, "col_offset", -1) + 1
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _rejected(node, f"{type(value).__name__} constants like "
                                      f"{_shortened(repr(value))}")
            number = float(value) if isinstance(value, float) or abs(value) < 2**1023 else math.inf
            if not math.isfinite(number):
                raise _rejected(node, f"numbers too large for a float, like "
                                      f"{_shortened(number_words(value))},")
            steps.append(("number", number, line, column))
        elif isinstance(node, ast.Name):
            steps.append(("name", node.id, line, column))
        elif isinstance(node, ast.BinOp) and type(node.op) in AST_OPERATORS:
            pending.append(("binary", AST_OPERATORS[type(node.op)], line, column))
            pending.append(node.right)
            pending.append(node.left)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            if isinstance(node.op, ast.USub):
                pending.append(("negate", None, line, column))
            pending.append(node.operand)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                try:
                    called = ast.unparse(node.func)
                except RecursionError:  # a callee nested too deeply to write back out
                    called = "an expression"
                raise _rejected(node, f"calling {_shortened(called)} (the calls allowed are "
                                      f"{', '.join(FUNCTIONS)})")
            if len(node.args) != 1 or node.keywords:
                raise _rejected(node, f"{node.func.id} with {len(node.args)} arguments "
                                      f"(it takes exactly one)")
            pending.append(("call", node.func.id, line, column))
            pending.append(node.args[0])
        elif isinstance(node, ast.BinOp):
            raise _rejected(node, f"the operator {type(node.op).__name__}")
        else:
            raise _rejected(node, _describe(node))
    return tuple(steps)


def _shortened(text: str, limit: int = 40) -> str:
    """`text` cut to `limit` characters, so one line stays one line however long the input."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _describe(node: ast.AST) -> str:
    for kind, words in _DESCRIPTIONS.items():
        if isinstance(node, kind):
            return words
    return f"{type(node).__name__} statements" if isinstance(node, ast.stmt) \
        else f"{type(node).__name__} expressions"


def _rejected(node: ast.AST, what: str) -> ExpressionError:
    return _error_at(node, f"{what} not allowed; the language has {ALLOWED}")


def _error_at(node: ast.AST, message: str) -> ExpressionError:
    return ExpressionError(message, getattr(node, "col_offset", -1) + 1, getattr(node, "lineno", 0))


# ------------------------------------------------------------------ running
def _run(steps: Tuple[Step, ...], variables: Dict[str, Union[float, Value]]) -> Union[float, Value]:
    """Execute postfix steps on a stack; numbers stay plain floats until they meet a Value."""
    stack: List[Union[float, Value]] = []
    for kind, argument, line, column in steps:
        if kind == "number":
            stack.append(argument)
        elif kind == "name":
            if argument not in variables:
                raise ExpressionError(f"{argument} is not set", column, line)
            stack.append(variables[argument])
        elif kind == "negate":
            stack.append(-stack.pop())
        elif kind == "call":
            operand = stack.pop()
            if isinstance(operand, Value):
                stack.append(_call(argument, operand))
            else:
                # A function of constants folds to a constant, with the engine's checks.
                stack.append(_call(argument, Value(operand)).data)
        else:
            right, left = stack.pop(), stack.pop()
            stack.append(_binary(argument, left, right))
    return stack.pop()


def _call(function: str, operand: Value) -> Value:
    """The Value method of that name, or the table's primitive for an op without one."""
    method = getattr(operand, function, None)
    return method() if method is not None else apply(find_primitive(function), operand)


def _binary(symbol: str, left: Union[float, Value], right: Union[float, Value]):
    if not isinstance(left, Value) and not isinstance(right, Value):
        # Two constants: let the engine compute (and check) the result, then keep the number.
        return APPLY_BINARY[symbol](Value(left), right).data
    return APPLY_BINARY[symbol](left, right)


def _names(names: Sequence[str]) -> str:
    quoted = ", ".join(names)
    return f"{quoted} is" if len(names) == 1 else f"{quoted} are"


__all__ = ["ExpressionError", "Program", "parse_program", "parse_settings", "BARE_EXPRESSION"]

