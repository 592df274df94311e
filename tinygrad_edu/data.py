"""Small 2-feature data sets to train classifiers on, made in pure Python, plus a CSV reader.

Every generator returns `(X, y)`: X a list of `[x1, x2]` points and y a list
of int class labels 0, 1, ... (0/1 for two classes), shuffled. Like
scikit-learn's `make_moons` and friends they take `n_samples`, `seed` and,
where it applies, `noise` (the standard deviation of Gaussian noise added to
each coordinate). The same seed always gives the same data.
"""

from __future__ import annotations

import csv
import math
import numbers
import random
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

from tinygrad_edu.checks import real_number, whole_number

Dataset = tuple[list[list[float]], list[int]]


# ------------------------------------------------------------------ checks
def _check_count(n_samples: object, classes: int) -> int:
    """Return n_samples if it gives every class at least one point."""
    return whole_number(n_samples, f"n_samples (at least one point per class, {classes} "
                                   f"classes)", classes)


def _check_noise(noise: object) -> float:
    """Return noise as a float if it is a finite number >= 0 (a standard deviation)."""
    return real_number(noise, "noise (a standard deviation)", 0.0)


def _split(n_samples: int, classes: int) -> list[int]:
    """How many points each class gets: as equal as possible, the first classes one more."""
    share, extra = divmod(n_samples, classes)
    return [share + (1 if k < extra else 0) for k in range(classes)]


def _linspace(start: float, stop: float, count: int, endpoint: bool = True) -> list[float]:
    """`count` evenly spaced numbers from start to stop (numpy.linspace in pure Python)."""
    intervals = (count - 1 if endpoint else count) or 1
    step = (stop - start) / intervals
    return [start + i * step for i in range(count)]


def _finish(points: list[list[float]], labels: list[int], noise: float,
            rng: random.Random) -> Dataset:
    """Add Gaussian noise to every coordinate, then shuffle points and labels together."""
    noisy = [[x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise)] for x1, x2 in points]
    order = list(range(len(noisy)))
    rng.shuffle(order)
    return [noisy[i] for i in order], [labels[i] for i in order]


# -------------------------------------------------------------- generators
def make_moons(n_samples: int = 100, noise: float = 0.1, seed: Optional[int] = 0) -> Dataset:
    """Two interleaving half circles: class 0 the upper moon, class 1 the lower one."""
    n_samples, noise = _check_count(n_samples, 2), _check_noise(noise)
    rng = random.Random(seed)
    upper, lower = _split(n_samples, 2)
    points = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, upper)]
    points += [[1.0 - math.cos(t), 0.5 - math.sin(t)] for t in _linspace(0.0, math.pi, lower)]
    return _finish(points, [0] * upper + [1] * lower, noise, rng)


def make_circles(n_samples: int = 100, noise: float = 0.1, factor: float = 0.5,
                 seed: Optional[int] = 0) -> Dataset:
    """A ring (class 0, radius 1) around a smaller ring (class 1, radius `factor`)."""
    n_samples, noise = _check_count(n_samples, 2), _check_noise(noise)
    factor = real_number(factor, "factor (the inner ring's radius over the outer one's)",
                         0.0, 1.0, low_open=True, high_open=True)
    rng = random.Random(seed)
    outer, inner = _split(n_samples, 2)
    points = [[math.cos(t), math.sin(t)]
              for t in _linspace(0.0, 2 * math.pi, outer, endpoint=False)]
    points += [[factor * math.cos(t), factor * math.sin(t)]
               for t in _linspace(0.0, 2 * math.pi, inner, endpoint=False)]
    return _finish(points, [0] * outer + [1] * inner, noise, rng)


def make_xor(n_samples: int = 100, noise: float = 0.05, seed: Optional[int] = 0) -> Dataset:
    """Points in the four quadrants of [-1, 1]²: class 1 where x1 and x2 have opposite signs.

    No single line separates the classes, which is why a network needs a hidden
    layer to learn XOR. Points keep a margin of 0.1 from the axes before the
    noise is added.
    """
    n_samples, noise = _check_count(n_samples, 2), _check_noise(noise)
    rng = random.Random(seed)
    points, labels = [], []
    # class 0 in the quadrants where the signs agree, class 1 where they differ
    quadrants = {0: [(1.0, 1.0), (-1.0, -1.0)], 1: [(1.0, -1.0), (-1.0, 1.0)]}
    for label, count in enumerate(_split(n_samples, 2)):
        for signs, quadrant_count in zip(quadrants[label], _split(count, 2)):
            for _ in range(quadrant_count):
                points.append([signs[0] * rng.uniform(0.1, 1.0), signs[1] * rng.uniform(0.1, 1.0)])
                labels.append(label)
    return _finish(points, labels, noise, rng)


def make_spiral(n_samples: int = 100, classes: int = 2, noise: float = 0.05,
                seed: Optional[int] = 0, *, n_classes: Optional[int] = None) -> Dataset:
    """`classes` spiral arms around the origin, one class each, each turning 1.5 times.

    `classes` is `--classes` of `tinygrad-edu train` and `load_csv`'s `classes`;
    `n_classes`, its earlier name, still works.
    """
    if n_classes is None:
        classes = whole_number(classes, "classes", 2)
    elif classes != 2:
        raise ValueError(f"give classes or n_classes (its earlier name), not both: "
                         f"got classes={classes!r} and n_classes={n_classes!r}")
    else:
        classes = whole_number(n_classes, "n_classes", 2)
    n_samples, noise = _check_count(n_samples, classes), _check_noise(noise)
    rng = random.Random(seed)
    points, labels = [], []
    for k, count in enumerate(_split(n_samples, classes)):
        start = 2 * math.pi * k / classes  # the arms start evenly spaced around the circle
        for r in _linspace(0.1, 1.0, count):
            angle = start + 3 * math.pi * r  # the further out, the further round: 1.5 turns
            points.append([r * math.cos(angle), r * math.sin(angle)])
            labels.append(k)
    return _finish(points, labels, noise, rng)


def make_blobs(n_samples: int = 100, centers: Union[int, Sequence[Sequence[float]]] = 3,
               noise: float = 0.5, seed: Optional[int] = 0) -> Dataset:
    """Gaussian clusters, one class each, around `centers`: a list of [x1, x2] points, or a
    count K that places K centres evenly on a circle of radius 2.
    """
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        if centers < 2:
            raise ValueError(f"centers must be at least 2 (one blob per class), got {centers}")
        count = int(centers)
        angles = [2 * math.pi * k / count for k in range(count)]
        centers = [[2 * math.cos(angle), 2 * math.sin(angle)] for angle in angles]
    # A count is a list of centres by now; mypy does not count int among numbers.Integral.
    centres = [[float(c) for c in centre] for centre in centers]  # type: ignore[union-attr]
    if len(centres) < 2 or any(len(centre) != 2 for centre in centres):
        raise ValueError(f"centers must be a count >= 2 or a list of at least two [x1, x2] "
                         f"points, got {centers!r}")
    n_samples, noise = _check_count(n_samples, len(centres)), _check_noise(noise)
    rng = random.Random(seed)
    points, labels = [], []
    for k, count in enumerate(_split(n_samples, len(centres))):
        points += [list(centres[k]) for _ in range(count)]
        labels += [k] * count
    return _finish(points, labels, noise, rng)


# --------------------------------------------------------------------- CSV
# A CSV is read line by line with these bounds, so any file (or /dev/zero) costs bounded memory.
MAX_LINE_LENGTH = 10_000
MAX_ROWS = 2_000_000


def load_csv(path: Union[str, Path], classes: Optional[int] = None) -> Dataset:
    """Read your own data: one point per line as `x1,x2,label`, labels 0, 1, ..., K-1.

    Blank lines and lines starting with `#` are skipped, and so is one header
    line if it is the first of the others and is names only: not one of its
    fields is a number (`x1,x2,label`). A line with a number in it is data, so
    a typo in the first point (`O.5,1,0`) is an error, never a dropped header.
    A UTF-8 byte-order mark is ignored. Any line that is not two finite
    numbers and a class number raises ValueError naming the file, the line and
    the field, and so does a label outside 0..K-1 (K the number of different
    labels, or `classes` when it is given). At most MAX_ROWS points of at most
    MAX_LINE_LENGTH characters a line, not counting its end.
    """
    if classes is not None:
        classes = whole_number(classes, "classes", 2)
    points: list[list[float]] = []
    labels: list[int] = []
    first_line_of: dict[int, int] = {}  # each label's first line, to name it in an error
    header_allowed = True
    # "utf-8-sig" drops a byte-order mark, which would otherwise turn "0.5" into "\ufeff0.5"
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(_bounded_lines(file, path))
        for row in _rows(reader, path):
            where = f"{path}, line {reader.line_num}"
            fields = [field.strip() for field in row]
            if not any(fields) or fields[0].startswith("#"):
                continue
            if header_allowed and not any(map(_is_number, fields)):
                header_allowed = False
                continue  # the one header line: names only, as x1,x2,label
            header_allowed = False
            if len(fields) != 3:
                raise ValueError(f"{where}: expected 3 values (x1, x2, label), "
                                 f"got {len(fields)}: {_shortened(','.join(row))!r}")
            if len(points) == MAX_ROWS:
                raise ValueError(f"{where}: more than {MAX_ROWS} points; "
                                 f"use a sample of the data")
            point = [_parse_feature(fields[0], "x1", where),
                     _parse_feature(fields[1], "x2", where)]
            label = _parse_label(fields[2], where)
            if classes is not None and label >= classes:
                raise ValueError(f"{where}: label {label} is outside 0..{classes - 1} "
                                 f"({classes} classes)")
            points.append(point)
            labels.append(label)
            first_line_of.setdefault(label, reader.line_num)
    if not points:
        raise ValueError(f"{path}: no data lines; expected lines like 0.5,-1.2,1 (x1, x2, label)")
    found = sorted(first_line_of)
    count = len(found)
    if found != list(range(count)) or count < 2:
        listing = ", ".join(map(str, found[:10])) + (", ..." if count > 10 else "")
        outside = [label for label in found if label >= count]
        where = f"{path}, line {first_line_of[outside[0]]}: label {outside[0]} is outside " \
                f"0..{count - 1}; " if outside else f"{path}: "
        raise ValueError(f"{where}the labels must be 0, 1, ..., K-1 with at least two classes, "
                         f"found {listing}")
    return points, labels


def _bounded_lines(file, path: Union[str, Path]) -> Iterator[str]:
    """The file's lines, each read no further than its end or MAX_LINE_LENGTH characters."""
    number = 0
    while True:
        # + 2: room for the line's end, "\r\n" at the most, which the limit does not count
        line = file.readline(MAX_LINE_LENGTH + 2)
        if not line:
            return
        number += 1
        if len(line.rstrip("\r\n")) > MAX_LINE_LENGTH:
            raise ValueError(f"{path}, line {number}: longer than {MAX_LINE_LENGTH} characters; "
                             f"expected lines like 0.5,-1.2,1")
        yield line


def _rows(reader, path: Union[str, Path]):
    """The reader's rows, with a clear error for a file that is not text."""
    try:
        yield from reader
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file; expected lines like 0.5,-1.2,1") \
            from None
    except csv.Error as problem:
        raise ValueError(f"{path}, line {reader.line_num}: {problem}") from None


def _shortened(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters for an error message."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_feature(text: str, name: str, where: str) -> float:
    """A feature value as a finite float, or ValueError naming the line."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {name} = {_shortened(text)!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: {name} = {_shortened(text)!r} is not a finite number")
    return value


def _parse_label(text: str, where: str) -> int:
    """A class label as an int >= 0 (`1` or `1.0`), or ValueError naming the line."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 <= value < MAX_ROWS and value.is_integer()):
        raise ValueError(f"{where}: label = {_shortened(text)!r} must be a class number "
                         f"0, 1, 2, ...")
    return int(value)
