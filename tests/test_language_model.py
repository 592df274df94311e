"""The feed-forward language model demo (lecture §7): corpus, trigram, PCA, and the result.

The whole demo runs once, with --quick and a fixed seed, for the tests at the
bottom; everything above them tests one piece on small examples.
"""

import importlib.util
import math
from collections import Counter
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "demos" / "ffnn_language_model.py"


def load():
    spec = importlib.util.spec_from_file_location("demo_ffnn_language_model", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lm = load()


# ------------------------------------------------------------------- corpus
@pytest.fixture(scope="module")
def corpus():
    return lm.make_corpus(train_tokens=1500, test_sentences=60, seed=0)


def test_the_vocabulary_is_about_30_words_in_classes():
    assert 25 <= len(lm.VOCAB) <= 35
    assert len(set(lm.VOCAB)) == len(lm.VOCAB)
    assert lm.START not in lm.VOCAB
    assert all(lm.CLASS_OF[w] in lm.WORD_CLASSES for w in lm.VOCAB)


def test_the_corpus_has_the_requested_sizes_and_only_vocabulary_words(corpus):
    train, familiar, novel = corpus
    assert 1500 <= sum(len(s) for s in train) < 1500 + 10
    assert len(familiar) == len(novel) == 60
    assert {w for s in train + familiar + novel for w in s} <= set(lm.VOCAB)
    assert all(s[-1] == "." for s in train + familiar + novel)


def test_the_same_seed_gives_the_same_corpus_and_another_seed_another(corpus):
    assert lm.make_corpus(1500, 60, seed=0) == corpus
    assert lm.make_corpus(1500, 60, seed=1) != corpus


def test_held_out_pairs_appear_only_in_the_novel_sentences(corpus):
    train, familiar, novel = corpus
    assert all((s[1], s[2]) in lm.HELD_OUT_PAIRS for s in novel)
    assert not any((s[1], s[2]) in lm.HELD_OUT_PAIRS for s in train + familiar)
    # ... so every novel sentence has a bigram that training never saw
    seen = {pair for s in train for pair in zip(s, s[1:])}
    assert all((s[1], s[2]) not in seen for s in novel)


def test_each_held_out_word_is_seen_in_training_with_its_class_mates(corpus):
    # What makes "cat sat" guessable: "cat" with other verbs, "sat" after other animals.
    train = corpus[0]
    bigrams = Counter(pair for s in train for pair in zip(s, s[1:]))
    for subject, verb in lm.HELD_OUT_PAIRS:
        verbs = lm.WORD_CLASSES[lm.CLASS_OF[verb]]
        subjects = lm.WORD_CLASSES[lm.CLASS_OF[subject]]
        assert any(bigrams[(subject, v)] for v in verbs if v != verb)
        assert any(bigrams[(s, verb)] for s in subjects if s != subject)


def test_windows_pad_each_sentence_with_start_words():
    sentence = ["the", "cat", "sat", "."]
    assert list(lm.windows([sentence])) == [
        (("<s>", "<s>", "<s>"), "the"),
        (("<s>", "<s>", "the"), "cat"),
        (("<s>", "the", "cat"), "sat"),
        (("the", "cat", "sat"), "."),
    ]


# ------------------------------------------------------------ perplexity
def test_perplexity_of_a_uniform_guess_is_the_vocabulary_size(corpus):
    assert lm.perplexity(lambda context, word: 1 / len(lm.VOCAB), corpus[2]) == pytest.approx(
        len(lm.VOCAB))


def test_perplexity_is_one_for_a_model_that_is_always_sure_and_right():
    sentences = [["the", "cat", "sat", "."]]
    answers = dict(lm.windows(sentences))
    assert lm.perplexity(lambda context, word: float(answers[context] == word), sentences) == 1.0


# ------------------------------------------------------------------ trigram
def test_trigram_probabilities_follow_the_add_k_formula():
    model = lm.AddKTrigram([["the", "cat", "sat", "."], ["the", "cat", "slept", "."]], k=0.5)
    v = len(lm.VOCAB)
    # count(the cat sat) = 1, count(the cat *) = 2
    assert model.prob(("<s>", "the", "cat"), "sat") == pytest.approx((1 + 0.5) / (2 + 0.5 * v))
    assert model.prob(("<s>", "the", "cat"), "dog") == pytest.approx(0.5 / (2 + 0.5 * v))
    # a context never seen: every word gets k / (k |V|) = 1/|V|
    assert model.prob(("a", "dog", "sat"), "on") == pytest.approx(1 / v)


@pytest.mark.parametrize("context", [("<s>", "the", "cat"), ("x", "never", "seen")])
def test_trigram_probabilities_sum_to_one(corpus, context):
    model = lm.AddKTrigram(corpus[0], k=0.01)
    assert math.fsum(model.prob(context, w) for w in lm.VOCAB) == pytest.approx(1.0)


def test_k_is_the_best_cross_validated_candidate_on_training_data_only(corpus):
    train, familiar, novel = corpus
    k, scores = lm.tune_k(train)
    assert set(scores) == set(lm.K_CANDIDATES)
    assert scores[k] == min(scores.values())
    # the held-out sentences play no part: the same training data gives the same k
    assert lm.tune_k([list(s) for s in train])[0] == k


# ----------------------------------------------------- embeddings, geometry
def test_cosine_of_parallel_orthogonal_and_opposite_vectors():
    assert lm.cosine([1.0, 2.0], [2.0, 4.0]) == pytest.approx(1.0)
    assert lm.cosine([1.0, 0.0], [0.0, 3.0]) == pytest.approx(0.0)
    assert lm.cosine([1.0, -1.0], [-2.0, 2.0]) == pytest.approx(-1.0)


def test_nearest_neighbours_are_sorted_by_cosine_and_exclude_the_word():
    vectors = {"cat": [1.0, 0.1], "dog": [1.0, 0.2], "mat": [0.0, 1.0], "rug": [-1.0, 0.0]}
    near = lm.nearest_neighbours(vectors, "cat", n=3)
    assert [w for w, _ in near] == ["dog", "mat", "rug"]
    assert near[0][1] == pytest.approx(lm.cosine(vectors["cat"], vectors["dog"]))


def test_pca_finds_the_direction_of_a_line():
    # Points on the line t * (3, 4, 0) / 5: all the variance lies along it.
    rows = [[0.6 * t, 0.8 * t, 0.0] for t in (-2.0, -1.0, 0.5, 1.0, 1.5)]
    projected = lm.pca_2d(rows)
    assert [p[0] for p in projected] == pytest.approx([-2.0, -1.0, 0.5, 1.0, 1.5], abs=1e-9)
    assert [p[1] for p in projected] == pytest.approx([0.0] * 5, abs=1e-9)


def test_pca_matches_numpy_eigenvectors_up_to_sign():
    numpy = pytest.importorskip("numpy")
    rng = numpy.random.default_rng(0)
    rows = (rng.normal(size=(30, 6)) * [3.0, 2.0, 1.0, 0.5, 0.2, 0.1]).tolist()
    projected = numpy.array(lm.pca_2d(rows))
    data = numpy.array(rows) - numpy.mean(rows, axis=0)
    _, vectors = numpy.linalg.eigh(numpy.cov(data.T))
    expected = data @ vectors[:, ::-1][:, :2]  # eigh sorts ascending; take the top two
    for k in range(2):
        sign = numpy.sign(projected[:, k] @ expected[:, k])
        assert numpy.allclose(projected[:, k], sign * expected[:, k], atol=1e-8)


# --------------------------------------------------------------- the model
def test_the_model_concatenates_the_context_embeddings():
    model = lm.FeedForwardLM(dim=4, hidden=5, seed=0)
    assert len(model.hidden.neurons[0].w) == lm.CONTEXT * 4  # one column block per position
    rows, vocab = len(lm.VOCAB) + 1, len(lm.VOCAB)
    assert len(model.parameters()) == rows * 4 + (3 * 4 + 1) * 5 + (5 + 1) * vocab
    logits = [z.data for z in model(("the", "cat", "sat"))]
    swapped = [z.data for z in model(("cat", "the", "sat"))]
    assert len(logits) == vocab
    assert logits != swapped  # averaging would make the order of the words irrelevant


def test_model_probabilities_of_the_next_word_sum_to_one():
    model = lm.FeedForwardLM(dim=3, hidden=4, seed=1)
    context = ("<s>", "the", "dog")
    assert math.fsum(model.prob(context, w) for w in lm.VOCAB) == pytest.approx(1.0)


def test_parameters_are_named_by_their_part_of_the_model():
    names = [name for name, _ in lm.FeedForwardLM(dim=2, hidden=2).named_parameters()]
    assert names[0] == "embedding.weight.0.0"
    assert "hidden.neurons.1.w.5" in names and names[-1] == f"output.neurons.{len(lm.VOCAB) - 1}.b"


# ------------------------------------------------------------- the whole demo
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm")
    return lm.main(["--quick", "--seed", "0", "--out", str(out)])


def test_the_neural_model_beats_the_trigram_on_novel_sentences(quick_run):
    neural, trigram = quick_run["neural"], quick_run["trigram"]
    assert neural["novel"] < trigram["novel"]
    assert quick_run["neural_wins"]
    # ... even with the k that is best on the novel sentences themselves
    assert neural["novel"] < quick_run["hindsight_novel"] <= trigram["novel"]


def test_both_models_are_much_better_than_guessing(quick_run):
    for model in ("neural", "trigram"):
        assert quick_run[model]["familiar"] < len(lm.VOCAB) / 4


def test_nearest_neighbours_put_class_mates_together(quick_run):
    hits, total = quick_run["classmates"]
    assert total >= 25 and hits >= 0.75 * total
    for word, near in quick_run["neighbours"].items():
        if len(lm.WORD_CLASSES[lm.CLASS_OF[word]]) > 1:
            assert lm.CLASS_OF[near[0][0]] == lm.CLASS_OF[word], (word, near)


def test_training_lowers_the_loss(quick_run):
    losses = quick_run["losses"]
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10


def test_the_demo_writes_both_pictures(quick_run):
    for path in quick_run["pictures"].values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compiled_training_gives_the_eager_losses(corpus):
    sentences = corpus[0][:12]
    runs = []
    for compile in (False, True):
        model = lm.FeedForwardLM(dim=4, hidden=6, seed=0)
        lm.initialise(model)
        losses, _ = lm.train(model, sentences, epochs=1, seed=0, evaluate=dict,
                             batch_size=16, compile=compile)
        runs.append(losses)
    assert len(runs[0]) >= 3  # the last batch is smaller: a second recording
    assert runs[1] == pytest.approx(runs[0], rel=1e-12)
