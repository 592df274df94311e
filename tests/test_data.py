"""tinygrad_edu.data: seeded 2-feature data sets and a CSV reader with errors that name the line."""

from __future__ import annotations

import math

import pytest

from tinygrad_edu.data import (
    load_csv,
    make_blobs,
    make_circles,
    make_moons,
    make_spiral,
    make_xor,
)

GENERATORS = [make_moons, make_circles, make_xor, make_spiral, make_blobs]


@pytest.mark.parametrize("make", GENERATORS)
def test_every_generator_returns_points_and_int_labels(make):
    X, y = make(n_samples=51, seed=0)
    assert len(X) == len(y) == 51
    assert all(len(point) == 2 and all(isinstance(v, float) for v in point) for point in X)
    assert all(type(label) is int for label in y)
    classes = sorted(set(y))
    assert classes == list(range(len(classes)))
    counts = [y.count(k) for k in classes]
    assert max(counts) - min(counts) <= 1  # balanced classes


@pytest.mark.parametrize("make", GENERATORS)
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(make):
    assert make(n_samples=40, seed=7) == make(n_samples=40, seed=7)
    assert make(n_samples=40, seed=7) != make(n_samples=40, seed=8)


@pytest.mark.parametrize("make", GENERATORS)
def test_bad_arguments_are_refused_with_their_values(make):
    with pytest.raises(ValueError, match=r"n_samples \(at least one point per class.*got 1$"):
        make(n_samples=1)
    with pytest.raises(ValueError, match=r"noise \(a standard deviation\) .* got -0.1"):
        make(noise=-0.1)


def test_moons_without_noise_lie_on_two_half_circles():
    X, y = make_moons(n_samples=20, noise=0.0)
    for (x1, x2), label in zip(X, y):
        if label == 0:  # the upper moon: the unit half circle around (0, 0)
            assert math.hypot(x1, x2) == pytest.approx(1.0) and x2 >= -1e-12
        else:  # the lower moon: around (1, 0.5), opening upwards
            assert math.hypot(x1 - 1.0, x2 - 0.5) == pytest.approx(1.0) and x2 <= 0.5 + 1e-12


def test_circles_without_noise_have_radius_one_and_factor():
    X, y = make_circles(n_samples=20, noise=0.0, factor=0.3)
    for (x1, x2), label in zip(X, y):
        assert math.hypot(x1, x2) == pytest.approx(1.0 if label == 0 else 0.3)


def test_xor_labels_are_one_where_the_signs_differ():
    X, y = make_xor(n_samples=200, noise=0.0)
    assert all(label == int((x1 > 0) != (x2 > 0)) for (x1, x2), label in zip(X, y))
    assert all(min(abs(x1), abs(x2)) >= 0.1 for x1, x2 in X)  # the margin from the axes


def test_spiral_and_blobs_make_as_many_classes_as_asked():
    assert sorted(set(make_spiral(n_samples=60, n_classes=3)[1])) == [0, 1, 2]
    assert sorted(set(make_blobs(n_samples=60, centers=4)[1])) == [0, 1, 2, 3]
    X, y = make_blobs(n_samples=10, centers=[[5.0, 5.0], [-5.0, -5.0]], noise=0.0)
    assert all(point == ([5.0, 5.0] if label == 0 else [-5.0, -5.0]) for point, label in zip(X, y))
    with pytest.raises(ValueError, match="n_classes must be.*>= 2, got 1"):
        make_spiral(n_classes=1)


# ----------------------------------------------------------------- CSV
def write(tmp_path, text: str):
    path = tmp_path / "points.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_reads_points_and_labels_skipping_header_blanks_and_comments(tmp_path):
    path = write(tmp_path, "x1,x2,label\n# my points\n0.5,-1.0,1\n\n  2, 3e-1 ,0\n-1,1,1.0\n")
    X, y = load_csv(path)
    assert X == [[0.5, -1.0], [2.0, 0.3], [-1.0, 1.0]]
    assert y == [1, 0, 1]


@pytest.mark.parametrize("text, message", [
    ("x1,x2,label\n0.5,1.0,1\n0.1,0\n", "line 3: expected 3 values \\(x1, x2, label\\), got 2"),
    ("0.5,1.0,1\n0.1,abc,0\n", "line 2: x2 = 'abc' is not a number"),
    ("0.5,1.0,1\n0.1,nan,0\n", "line 2: x2 = 'nan' is not a finite number"),
    ("0.5,1.0,1\n0.1,0.2,-1\n", "line 2: label = '-1' must be a class number"),
    ("0.5,1.0,1\n0.1,0.2,0.5\n", "line 2: label = '0.5' must be a class number"),
    ("0.5,1.0,1\n0.1,0.2,2\n", "labels must be 0, 1, ..., K-1.*found 1, 2"),
    ("x1,x2,label\n", "no data lines"),
])
def test_a_malformed_csv_names_the_line_and_the_problem(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_csv(write(tmp_path, text))


def test_a_csv_error_names_the_file(tmp_path):
    path = write(tmp_path, "1,2\n")
    with pytest.raises(ValueError, match=f"{path}, line 1"):
        load_csv(path)


def test_a_binary_file_is_refused_as_not_text(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        load_csv(path)


def test_a_byte_order_mark_does_not_cost_the_first_row(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff0.5,1.0,1\n0.1,0.2,0\n".encode("utf-8"))
    assert load_csv(path) == ([[0.5, 1.0], [0.1, 0.2]], [1, 0])
    path.write_bytes("\ufeffx1,x2,label\n0.5,1.0,1\n0.1,0.2,0\n".encode("utf-8"))
    assert load_csv(path)[1] == [1, 0]


@pytest.mark.parametrize("text, message", [
    ("x1,x2,label\nx1,x2,label\n0.5,1.0,1\n", "line 2: x1 = 'x1' is not a number"),
    ("title\n# comment\nx1,x2,label\n0.5,1.0,1\n", "line 3: x1 = 'x1' is not a number"),
    ("0.5,1.0,1\nx1,x2,label\n0.1,0.2,0\n", "line 2: x1 = 'x1' is not a number"),
    ("0.5,1.0,0\n0.1,0.2,1\n0.3,0.3,5\n", "line 3: label 5 is outside 0..2"),
    ("0.5,1.0,1\n1,2,1\n", "the labels must be .* at least two classes, found 1"),
    ("0.5,1.0,1\n0.1,\0,0\n", "line 2"),
    ("0.5,1.0,1\n0.1,0.2,1e300\n", "line 2: label = '1e300' must be a class number"),
])
def test_only_one_header_line_and_every_bad_line_is_named(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_csv(write(tmp_path, text))


@pytest.mark.parametrize("text, message", [
    ("O.5,1,0\n0.1,0.2,1\n0.3,0.4,0\n", "line 1: x1 = 'O.5' is not a number"),
    ("0.5,l,0\n0.1,0.2,1\n", "line 1: x2 = 'l' is not a number"),
    ("0.5,1,one\n0.1,0.2,1\n", "line 1: label = 'one' must be a class number"),
    ("# my points\n\nO.5,1,0\n0.1,0.2,1\n", "line 3: x1 = 'O.5' is not a number"),
    ("x1,x2,2\n0.1,0.2,1\n", "line 1: x1 = 'x1' is not a number"),
])
def test_a_first_line_with_a_number_in_it_is_data_not_a_header(tmp_path, text, message):
    # A header is a line of names only; a typo in the first point is named, never dropped.
    with pytest.raises(ValueError, match=message):
        load_csv(write(tmp_path, text))


@pytest.mark.parametrize("header", ["x1,x2,label", "a,b,c", "x,y", "points", "x1,,label"])
def test_a_first_line_of_names_only_is_a_header(tmp_path, header):
    assert load_csv(write(tmp_path, f"{header}\n0.5,1.0,1\n0.1,0.2,0\n")) == \
        ([[0.5, 1.0], [0.1, 0.2]], [1, 0])


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r", ""])
def test_a_line_of_exactly_the_longest_length_is_read_whatever_its_end(tmp_path, end):
    import tinygrad_edu.data as data

    point = "0.5,1.0,"
    longest = point + "0" * (data.MAX_LINE_LENGTH - len(point) - 1) + "1"  # label 1
    assert len(longest) == data.MAX_LINE_LENGTH
    path = tmp_path / "long.csv"
    path.write_bytes(f"0.1,0.2,0{end or chr(10)}{longest}{end}".encode())
    assert load_csv(path) == ([[0.1, 0.2], [0.5, 1.0]], [0, 1])
    path.write_bytes(f"0.1,0.2,0\n0{longest}{end}0.3,0.4,1\n".encode())
    with pytest.raises(ValueError, match=f"line 2: longer than {data.MAX_LINE_LENGTH}"):
        load_csv(path)


def test_labels_beyond_the_classes_asked_for_name_their_line(tmp_path):
    path = write(tmp_path, "0.5,1.0,0\n0.1,0.2,1\n0.3,0.3,2\n")
    assert load_csv(path, classes=3)[1] == [0, 1, 2]
    with pytest.raises(ValueError, match=r"line 3: label 2 is outside 0\.\.1 \(2 classes\)"):
        load_csv(path, classes=2)


def test_an_endless_line_is_refused_after_a_bounded_read():
    import tinygrad_edu.data as data

    # /dev/zero never ends and has no newline: reading must stop at the line limit.
    with pytest.raises(ValueError, match=f"line 1: longer than {data.MAX_LINE_LENGTH}"):
        load_csv("/dev/zero")


def test_too_many_rows_are_refused_naming_the_line(tmp_path, monkeypatch):
    import tinygrad_edu.data as data

    monkeypatch.setattr(data, "MAX_ROWS", 3)
    with pytest.raises(ValueError, match="line 5: more than 3 points"):
        load_csv(write(tmp_path, "x,y,l\n0,0,0\n1,1,1\n0,1,0\n1,0,1\n"))
