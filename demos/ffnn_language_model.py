"""Lecture §7: a feed-forward neural language model (Bengio et al., 2003) beats counting.

A small grammar below writes a corpus of simple sentences ("the cat sat on the
mat ."). Four subject-verb pairs never occur in training: "cat sat", "mouse
lay", "man slept", "girl ate". The novel held-out sentences are exactly those
with one of these pairs: training has "the dog sat ..." and "the cat slept ...",
never "the cat sat ...". Familiar held-out sentences are new draws like the
training ones.

Two models predict each word from the words before it:
  * an add-k trigram: counts of (u, v, w), plus k for every word, with k
    chosen by cross-validation on the training sentences;
  * the lecture's network: the 3 context words are looked up in an embedding
    table, CONCATENATED, passed through a tanh hidden layer, and a softmax over
    the vocabulary gives the next word; cross-entropy loss, trained with Adam.

Counts know nothing about "cat sat"; the network has learned that cat and dog
are used alike (nearby embeddings), so it shares what it saw (lecture §7:
"embeddings let similar words share statistics"). The script
prints the held-out perplexity of both, the nearest neighbours of a few words,
and writes out/lm_embeddings.png (a 2-D PCA of the embeddings) and
out/lm_loss.png (the loss curve).

    python demos/ffnn_language_model.py [--quick] [--seed N] [--epochs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from tqdm import tqdm

from tinygrad_edu import Value, dot, engine, nn, trace
from tinygrad_edu.demos.arguments import DemoParser
from tinygrad_edu.losses import cross_entropy, mean_loss
from tinygrad_edu.optim import Adam
from tinygrad_edu.train import compile_backend, traceable_loss

# ------------------------------------------------------------------- the corpus
WORD_CLASSES = {
    "determiner": ["the", "a"],
    "animal": ["cat", "dog", "mouse", "rabbit", "fox"],
    "person": ["man", "woman", "boy", "girl"],
    "resting verb": ["sat", "slept", "lay"],
    "eating verb": ["ate", "bought", "cooked"],
    "preposition": ["on", "under", "near"],
    "furniture": ["mat", "rug", "sofa", "bed", "chair"],
    "food": ["apple", "bread", "cheese", "cake"],
    "and": ["and"],
    "end": ["."],
}
VOCAB = [word for words in WORD_CLASSES.values() for word in words]  # what a model can predict
START = "<s>"  # pads the context before a sentence's first word; never predicted
CONTEXT = 3  # the lecture's window of 4 words: 3 context words, then the target
CLASS_OF = {word: name for name, words in WORD_CLASSES.items() for word in words}

Sentence = list[str]


# Seen only in held-out sentences; training has "the dog sat", "the cat slept", ...
HELD_OUT_PAIRS = {("cat", "sat"), ("mouse", "lay"), ("man", "slept"), ("girl", "ate")}


def random_sentence(rng: random.Random) -> Sentence:
    """One sentence of the grammar: animals and people rest somewhere; people also eat things."""
    pick = rng.choice
    det = WORD_CLASSES["determiner"]
    if rng.random() < 0.6:
        subject = pick(WORD_CLASSES["animal"] + WORD_CLASSES["person"])
        return [pick(det), subject, pick(WORD_CLASSES["resting verb"]),
                pick(WORD_CLASSES["preposition"]), pick(det), pick(WORD_CLASSES["furniture"]), "."]
    sentence = [pick(det), pick(WORD_CLASSES["person"]), pick(WORD_CLASSES["eating verb"]),
                pick(det), pick(WORD_CLASSES["food"])]
    if rng.random() < 0.5:
        sentence += ["and", pick(det), pick(WORD_CLASSES["food"])]
    return sentence + ["."]


def make_corpus(train_tokens: int, test_sentences: int,
                seed: int) -> tuple[list[Sentence], list[Sentence], list[Sentence]]:
    """Sentences for (training, familiar held-out, novel held-out).

    Training stops at `train_tokens` words. "Novel" sentences hold a held-out
    (subject, verb) pair; "familiar" ones are new draws like the training data.
    """
    rng = random.Random(seed)
    train: list[Sentence] = []
    familiar: list[Sentence] = []
    novel: list[Sentence] = []
    tokens = 0
    while tokens < train_tokens or len(familiar) < test_sentences or len(novel) < test_sentences:
        sentence = random_sentence(rng)
        if (sentence[1], sentence[2]) in HELD_OUT_PAIRS:
            if len(novel) < test_sentences:
                novel.append(sentence)
        elif tokens < train_tokens:
            train.append(sentence)
            tokens += len(sentence)
        elif len(familiar) < test_sentences:
            familiar.append(sentence)
    return train, familiar, novel


def windows(sentences: Sequence[Sentence]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every (3 context words, next word) pair; a sentence's first words see <s> padding."""
    for sentence in sentences:
        padded = [START] * CONTEXT + list(sentence)
        for t in range(CONTEXT, len(padded)):
            yield tuple(padded[t - CONTEXT:t]), padded[t]


def perplexity(prob: Callable[[tuple[str, ...], str], float],
               sentences: Sequence[Sentence]) -> float:
    """exp(mean of -log P(next word | context)) over every word: lower is better.

    A model that guesses uniformly among the |V| words scores |V|; one that is
    always sure and right scores 1.
    """
    nll = [-math.log(prob(context, word)) for context, word in windows(sentences)]
    return math.exp(sum(nll) / len(nll))


# ------------------------------------------------------ the add-k trigram model
K_CANDIDATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


class AddKTrigram:
    """P(w | u, v) = (count(u v w) + k) / (count(u v) + k |V|): counts, plus k for every word."""

    def __init__(self, sentences: Sequence[Sentence], k: float) -> None:
        self.k = k
        self.trigrams: Counter[tuple[str, ...]] = Counter()
        self.contexts: Counter[tuple[str, ...]] = Counter()
        for context, word in windows(sentences):
            self.trigrams[context[-2:] + (word,)] += 1
            self.contexts[context[-2:]] += 1

    def prob(self, context: tuple[str, ...], word: str) -> float:
        """P(word | the last two context words)."""
        u, v = context[-2:]
        count, total = self.trigrams[(u, v, word)], self.contexts[(u, v)]
        return (count + self.k) / (total + self.k * len(VOCAB))


def tune_k(sentences: Sequence[Sentence], folds: int = 5,
           candidates: Sequence[float] = K_CANDIDATES) -> tuple[float, dict[float, float]]:
    """The k with the lowest cross-validated perplexity on the TRAINING sentences, and every score.

    Each fold counts on the other folds and is scored on its own sentences;
    the held-out sentences are never looked at.
    """
    # One count table per fold; changing k does not change the counts.
    parts = [(AddKTrigram([s for i, s in enumerate(sentences) if i % folds != f], k=1.0),
              [s for i, s in enumerate(sentences) if i % folds == f]) for f in range(folds)]
    scores = {}
    for k in candidates:
        nll, count = 0.0, 0
        for model, scored in parts:
            model.k = k
            for context, word in windows(scored):
                nll -= math.log(model.prob(context, word))
                count += 1
        scores[k] = math.exp(nll / count)
    return min(scores, key=scores.get), scores


# ---------------------------------------------------- looking at the embeddings
def cosine(u: Sequence[float], v: Sequence[float]) -> float:
    """cos of the angle between two vectors: 1 same direction, 0 unrelated, -1 opposite."""
    dot = sum(a * b for a, b in zip(u, v))
    return dot / (math.sqrt(sum(a * a for a in u)) * math.sqrt(sum(b * b for b in v)))


def nearest_neighbours(vectors: dict[str, list[float]], word: str,
                       n: int = 3) -> list[tuple[str, float]]:
    """The n other words whose vectors point most nearly the same way as `word`'s (cosine)."""
    scored = [(other, cosine(vectors[word], v)) for other, v in vectors.items() if other != word]
    return sorted(scored, key=lambda pair: -pair[1])[:n]


def pca_2d(rows: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """Each row projected onto the data's two directions of largest variance.

    Centre the rows and form their covariance matrix C. The direction of
    largest variance is C's top eigenvector, found by power iteration: repeat
    v <- Cv / |Cv|. The second is found the same way, keeping v at right
    angles to the first.
    """
    n, dim = len(rows), len(rows[0])
    if dim < 2:
        raise ValueError(f"pca_2d needs rows of at least 2 numbers, got {dim}")
    means = [sum(row[j] for row in rows) / n for j in range(dim)]
    centred = [[row[j] - means[j] for j in range(dim)] for row in rows]
    cov = [[sum(r[i] * r[j] for r in centred) / n for j in range(dim)] for i in range(dim)]
    tiny = 1e-12 * (sum(cov[i][i] for i in range(dim)) or 1.0)  # "no variance" at this scale
    axes: list[list[float]] = []
    for _ in range(2):
        # Any start works unless it is at right angles to the answer; try until one is usable.
        starts = [[1.0 / math.sqrt(dim + j) for j in range(dim)]]
        starts += [[float(i == j) for j in range(dim)] for i in range(dim)]
        v = next(u for u in (_unit_orthogonal(s, axes, 1e-6) for s in starts) if u is not None)
        for _ in range(1000):
            w = _unit_orthogonal([sum(c * x for c, x in zip(row, v)) for row in cov], axes, tiny)
            if w is None:  # no variance left in the directions still free: any v will do
                break
            converged = max(abs(a - b) for a, b in zip(v, w)) < 1e-12
            v = w
            if converged:
                break
        if max(v, key=abs) < 0:  # an eigenvector's sign is arbitrary: make its largest entry > 0
            v = [-x for x in v]
        axes.append(v)
    return [tuple(sum(r[j] * axis[j] for j in range(dim)) for axis in axes) for r in centred]


def _unit_orthogonal(v: list[float], axes: list[list[float]],
                     tiny: float) -> Optional[list[float]]:
    """v minus its parts along the (unit, orthogonal) axes, scaled to length 1; None if ~0."""
    for axis in axes:
        along = sum(a * b for a, b in zip(v, axis))
        v = [a - along * b for a, b in zip(v, axis)]
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v] if norm > tiny else None


# ----------------------------------------------------------- the neural model
WORDS = VOCAB + [START]  # rows of the embedding table: every word, and the padding
ROW = {word: i for i, word in enumerate(WORDS)}


class FeedForwardLM(nn.Module):
    """Bengio et al. (2003): e = [E w1; E w2; E w3], h = tanh(W e + b), logits z = U h + c."""

    def __init__(self, dim: int = 8, hidden: int = 24, seed: int = 0) -> None:
        rng = random.Random(seed)
        self.embedding = nn.Embedding(len(WORDS), dim, seed=rng)
        self.hidden = nn.Layer(CONTEXT * dim, hidden, activation="tanh", seed=rng)
        self.output = nn.Layer(hidden, len(VOCAB), activation="linear", seed=rng)
        # Its parameters are found from these three attributes, as in PyTorch:
        # `embedding.weight.R.C`, then `hidden.neurons.J.w.I` ..., then `output.neurons...`.
        self._label_parameters()

    def __call__(self, context: Sequence[str]) -> list[Value]:
        """The logits of every vocabulary word as the next word after `context` (3 words)."""
        # Concatenated, not averaged: each position has its own columns of W.
        e = [x for word in context for x in self.embedding(ROW[word])]
        return self.output(self.hidden(e))

    def from_one_hot(self, context: Sequence[Sequence[Value]]) -> list[Value]:
        """The logits, with each context word given as a one-hot vector over all words.

        The lookup E[w] is then the product onehot(w) · E, one dot node per
        column: a graph whose shape does not depend on which words they are, so
        it can be traced once and fed every batch (`--compile`).
        """
        table = self.embedding.weight
        columns = [[row[d] for row in table] for d in range(self.embedding.dim)]
        e = [dot(column, one_hot) for one_hot in context for column in columns]
        return self.output(self.hidden(e))

    def vectors(self) -> dict[str, list[float]]:
        """Each vocabulary word's embedding as plain floats."""
        return {word: [v.data for v in self.embedding(ROW[word])] for word in VOCAB}

    def prob(self, context: tuple[str, ...], word: str) -> float:
        """P(word | context) = softmax(logits)[word], as a plain float."""
        return math.exp(-cross_entropy(self(context), VOCAB.index(word)).data)


def initialise(model: FeedForwardLM) -> None:
    """Rescale nn's starting weights for a network this wide.

    nn draws weights from U(-1, 1) as micrograd does: right for 2 inputs, but
    with 24 inputs w·x is typically ~3 and tanh starts saturated. Dividing by
    sqrt(inputs) keeps w·x near 1 (LeCun's rule). Embeddings start at N(0, 1);
    scaled to N(0, 0.1²), what training writes into them soon outweighs the
    random start, so words used alike end up pointing alike.
    """
    for layer in (model.hidden, model.output):
        for neuron in layer.neurons:
            for w in neuron.w:
                w.data /= math.sqrt(neuron.nin)
    for p in model.embedding.parameters():
        p.data *= 0.1


class CompiledStep:
    """A training step traced once per batch size, on one-hot placeholders, and fed each batch."""

    def __init__(self, model: FeedForwardLM) -> None:
        self.model = model
        self.programs: dict[int, tuple] = {}

    def _program(self, size: int) -> tuple:
        """(program, context placeholders, target placeholders) for batches of `size`."""
        if size not in self.programs:
            contexts = [[[Value(0.0) for _ in WORDS] for _ in range(CONTEXT)]
                        for _ in range(size)]
            targets = [[Value(0.0) for _ in VOCAB] for _ in range(size)]

            def loss() -> Value:
                return engine.mean([traceable_loss(self.model.from_one_hot(c), t, "ce")
                                    for c, t in zip(contexts, targets)])

            program = trace(loss, backend=compile_backend(True))
            program.check()  # the one-hot graph against an eager rebuild, once
            self.programs[size] = (program, contexts, targets)
        return self.programs[size]

    def __call__(self, batch: Sequence[tuple[tuple[str, ...], str]]) -> float:
        """Feed the batch, replay forward and backward (adding into .grad); the loss."""
        program, contexts, targets = self._program(len(batch))
        program.feed(contexts, [[[1.0 if r == ROW[word] else 0.0 for r in range(len(WORDS))]
                                 for word in context] for context, _ in batch])
        program.feed(targets, [[1.0 if w == word else 0.0 for w in VOCAB] for _, word in batch])
        return program()


def train(model: FeedForwardLM, sentences: Sequence[Sentence], epochs: int, seed: int,
          evaluate: Callable[[], dict[str, float]], batch_size: int = 32,
          lr: float = 0.01, compile: bool = False) -> tuple[list[float], list[dict[str, float]]]:
    """Adam on mini-batches of windows; the loss of every step and evaluate() after each epoch.

    compile=True traces the step once (per batch size) and replays it.
    """
    examples = list(windows(sentences))
    rng = random.Random(seed)
    optimizer = Adam(model.parameters(), lr=lr)
    compiled = CompiledStep(model) if compile else None
    steps_per_epoch = math.ceil(len(examples) / batch_size)
    losses, evaluations = [], []
    with tqdm(total=epochs * steps_per_epoch, desc="training", unit="step",
              disable=None) as bar:  # disable=None: no bar when output is not a terminal
        for _ in range(epochs):
            rng.shuffle(examples)
            for start in range(0, len(examples), batch_size):
                batch = examples[start:start + batch_size]
                optimizer.zero_grad()
                if compiled is not None:
                    value = compiled(batch)
                else:
                    loss = mean_loss([cross_entropy(model(context), VOCAB.index(word))
                                      for context, word in batch])
                    loss.backward()
                    value = loss.data
                optimizer.step()
                losses.append(value)
                bar.set_postfix(loss=f"{value:.3f}", refresh=False)
                bar.update()
            evaluations.append(evaluate())
    return losses, evaluations


# ------------------------------------------------------------------- pictures
def plot_embeddings(vectors: dict[str, list[float]], path: Path) -> None:
    """The embeddings projected to 2-D by PCA, each word labelled and coloured by its class."""
    from matplotlib.figure import Figure

    from tinygrad_edu.viz.plots import CLASS_COLOURS

    words = list(vectors)
    points = dict(zip(words, pca_2d([vectors[word] for word in words])))
    # Words of one class often sit almost on one spot: their labels are stacked, not overlapped.
    labels = label_positions(points)
    figure = Figure(figsize=(7.5, 6.5))
    axes = figure.add_subplot()
    for k, (name, members) in enumerate(WORD_CLASSES.items()):
        members = [word for word in members if word in points]
        if not members:
            continue
        colour = CLASS_COLOURS[k % len(CLASS_COLOURS)]
        axes.scatter([points[w][0] for w in members], [points[w][1] for w in members],
                     color=colour, edgecolors="black", linewidths=0.5, s=40, label=name, zorder=3)
        for word in members:
            x, y, moved = labels[word]
            axes.annotate(word, points[word], xytext=(x, y), fontsize=9, color=colour,
                          ha="left", va="bottom",
                          # a label moved off its point's line gets a thin line to the point
                          arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.5}
                          if moved else None)
    axes.margins(x=0.12, y=0.08)  # room for the labels of the outermost words
    axes.set_xlabel("first principal component")
    axes.set_ylabel("second principal component")
    axes.set_title("Word embeddings after training (PCA to 2-D)")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside, not over
    axes.grid(True, alpha=0.3)
    figure.savefig(path, dpi=120, bbox_inches="tight")


def label_positions(
        points: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float, bool]]:
    """Where to write each word (x, y, moved): beside its point, or a line up or down if taken."""
    xs, ys = [p[0] for p in points.values()], [p[1] for p in points.values()]
    char, line = 0.018 * (max(xs) - min(xs) or 1.0), 0.045 * (max(ys) - min(ys) or 1.0)
    # (left, bottom, right, top) of everything drawn so far: the points, then each label
    boxes = [(x - 0.5 * char, y - 0.3 * line, x + 0.5 * char, y + 0.3 * line)
             for x, y in points.values()]

    def free(box: tuple[float, float, float, float]) -> bool:
        return all(box[2] < b[0] or b[2] < box[0] or box[3] < b[1] or b[3] < box[1]
                   for b in boxes)

    placed = {}
    for word in sorted(points, key=lambda w: (-points[w][1], points[w][0])):  # top to bottom
        x, y = points[word]
        width = char * len(word)
        for shift in (0, 1, -1, 2, -2, 3, -3, 4, -4):
            bottom = y - 0.3 * line + shift * line
            for left in (x + 0.6 * char, x - 0.6 * char - width):  # right of the point, or left
                box = (left, bottom, left + width, bottom + line * 0.8)
                if free(box):
                    break
            else:
                continue
            break
        boxes.append(box)
        placed[word] = (box[0], box[1], shift != 0)
    return placed


def plot_losses(losses: Sequence[float], evaluations: Sequence[dict[str, float]],
                trigram: dict[str, float], path: Path) -> None:
    """Training loss per step, held-out loss per epoch, and the trigram's held-out loss."""
    from matplotlib.figure import Figure

    from tinygrad_edu.viz.plots import CLASS_COLOURS

    steps_per_epoch = len(losses) / len(evaluations)
    figure = Figure(figsize=(8, 4.5))
    axes = figure.add_subplot()
    axes.plot([(i + 1) / steps_per_epoch for i in range(len(losses))], losses,
              color="#999999", linewidth=0.8, label="training batch loss")
    epochs = range(1, len(evaluations) + 1)
    for k, split in enumerate(("familiar", "novel")):
        colour = CLASS_COLOURS[k]
        axes.plot(epochs, [math.log(e[split]) for e in evaluations], marker="o", color=colour,
                  label=f"neural, held-out {split}")
        axes.axhline(math.log(trigram[split]), color=colour, linestyle="--",
                     label=f"trigram, held-out {split}")
    axes.set_xlabel("epoch")
    axes.set_ylabel("cross-entropy (nats per word) = log perplexity")
    axes.set_title("Feed-forward language model: loss")
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=8, loc="upper right", framealpha=0.9)
    axes.grid(True, alpha=0.3)
    figure.savefig(path, dpi=120, bbox_inches="tight")


# ------------------------------------------------------------------ the demo
SHOWN = ("cat", "man", "sat", "ate", "on", "mat", "apple", "the")  # words whose neighbours we print
SETTINGS = {  # (training words, epochs)
    "default": (3000, 8),
    "quick": (1500, 4),
}
TEST_SENTENCES = 60  # in each held-out set
# Sized for a scalar engine: the output layer (31 words x 24 units) costs the most per word.
EMBEDDING_DIM, HIDDEN_UNITS, LEARNING_RATE, BATCH_SIZE = 8, 24, 0.01, 32


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The demo's options; a bad one exits with code 2 and a one-line message."""
    parser = DemoParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smaller corpus and fewer epochs (for tests)")
    parser.add_argument("--epochs", type=int, help="passes over the training windows")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corpus and the weights")
    parser.add_argument("--compile", action="store_true",
                        help="train with a traced program (one-hot lookups), replayed every step")
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR",
                        help="folder for the pictures")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    return args


def classmate_rate(vectors: dict[str, list[float]]) -> tuple[int, int]:
    """(how many words have a class-mate as nearest neighbour, how many words have a class-mate)."""
    words = [w for w in vectors if len(WORD_CLASSES[CLASS_OF[w]]) > 1]
    hits = sum(CLASS_OF[nearest_neighbours(vectors, w, 1)[0][0]] == CLASS_OF[w] for w in words)
    return hits, len(words)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the demo; return its numbers (perplexities, neighbours, picture paths)."""
    args = parse_args(argv)
    train_tokens, epochs = SETTINGS["quick" if args.quick else "default"]
    epochs = args.epochs or epochs
    train_sentences, familiar, novel = make_corpus(train_tokens, TEST_SENTENCES, args.seed)
    held_out = {"familiar": familiar, "novel": novel}
    n_train = sum(len(s) for s in train_sentences)
    print(f"Corpus: a {len(VOCAB)}-word vocabulary in {len(WORD_CLASSES)} classes; "
          f"{n_train} training words ({len(train_sentences)} sentences)")
    bigrams = Counter(pair for s in train_sentences for pair in zip(s, s[1:]))
    example = novel[0]
    subject, verb = example[1], example[2]
    mates = [f"{w} {verb}" for w in WORD_CLASSES[CLASS_OF[subject]] if bigrams[(w, verb)]]
    print(f"Held out: {TEST_SENTENCES} novel sentences such as \"{' '.join(example)}\"; training "
          f"never has \"{subject} {verb}\",\n  but has " + ", ".join(f'"{m}"' for m in mates)
          + f"; and {TEST_SENTENCES} familiar sentences, new draws like the training ones.")

    k, scores = tune_k(train_sentences)
    trigram = AddKTrigram(train_sentences, k)
    print(f"\nAdd-k trigram: k = {k:g} (5-fold cross-validation on the training sentences: "
          + ", ".join(f"{c:g}: {p:.2f}" for c, p in scores.items()) + ")")

    model = FeedForwardLM(dim=EMBEDDING_DIM, hidden=HIDDEN_UNITS, seed=args.seed)
    initialise(model)
    print(f"Neural model: {CONTEXT} context words x {EMBEDDING_DIM}-dim embeddings, concatenated "
          f"-> {HIDDEN_UNITS} tanh units -> softmax over {len(VOCAB)} words; "
          f"{len(model.parameters())} parameters;\n  Adam, lr {LEARNING_RATE}, batches of "
          f"{BATCH_SIZE}, {epochs} epochs")
    start = time.perf_counter()
    losses, evaluations = train(
        model, train_sentences, epochs, args.seed, batch_size=BATCH_SIZE, lr=LEARNING_RATE,
        evaluate=lambda: {name: perplexity(model.prob, s) for name, s in held_out.items()},
        compile=args.compile)
    seconds = time.perf_counter() - start
    print(f"  {len(losses)} steps in {seconds:.1f} s ({len(losses) / seconds:.1f} steps/s)")

    results = {
        "trigram": {name: perplexity(trigram.prob, s) for name, s in held_out.items()},
        "neural": evaluations[-1],
    }
    # For comparison only, never to choose k: the k that would have been best on novel.
    hindsight = min((perplexity(AddKTrigram(train_sentences, c).prob, novel), c)
                    for c in K_CANDIDATES)
    print(f"\nHeld-out perplexity (lower is better; {len(VOCAB)} would be guessing):")
    print(f"  {'':8} {'familiar':>9} {'novel':>9}")
    for name in ("trigram", "neural"):
        print(f"  {name:8} {results[name]['familiar']:9.2f} {results[name]['novel']:9.2f}")
    print(f"  (the trigram with the k best on the novel sentences themselves, k = "
          f"{hindsight[1]:g}, would get {hindsight[0]:.2f})")
    wins = results["neural"]["novel"] < results["trigram"]["novel"]
    print(f"  check: neural beats the trigram on novel sentences: {'yes' if wins else 'NO'}")

    # '.' ends every sentence, so it is never a context word: its embedding never trains.
    vectors = {w: v for w, v in model.vectors().items() if w != "."}
    print("\nNearest neighbours in embedding space (cosine):")
    neighbours = {word: nearest_neighbours(vectors, word) for word in SHOWN}
    for word, near in neighbours.items():
        print(f"  {word:6} " + ", ".join(f"{w} {c:.2f}" for w, c in near))
    hits, total = classmate_rate(vectors)
    print(f"  the nearest neighbour is a word of the same class for {hits} of {total} words")

    args.out.mkdir(parents=True, exist_ok=True)
    pictures = {"embeddings": args.out / "lm_embeddings.png", "loss": args.out / "lm_loss.png"}
    plot_embeddings(vectors, pictures["embeddings"])
    plot_losses(losses, evaluations, results["trigram"], pictures["loss"])
    print("\nWrote " + " and ".join(str(p) for p in pictures.values()))
    results.update(k=k, hindsight_k=hindsight[1], hindsight_novel=hindsight[0],
                   neighbours=neighbours, classmates=(hits, total), losses=losses,
                   seconds=seconds, pictures=pictures, neural_wins=wins)
    return results


if __name__ == "__main__":
    sys.exit(0 if main()["neural_wins"] else 1)
