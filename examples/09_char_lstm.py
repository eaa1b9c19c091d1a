"""Experiment 9: a character-level LSTM (char-rnn) on tiny Shakespeare, then text sampled from it.

Embedding 65 → 128 → LSTM 256 → dense 65 (``barenet.char_rnn(65, 256, embedding_dim=128)``),
cross-entropy on the next character at every position, Adam at 3e-3 with the gradient norm
clipped to 1 and a cosine decay to 0, batches of 32 random windows of 64 characters from the
first 90 % of the text. The validation loss is the mean over a fixed set of 50 batches of
windows from the last 10 %; then 500 characters are sampled one at a time, the LSTM's state carried from
each character to the next.

    BARENET_DATA_DIR=../shared/data nice python examples/09_char_lstm.py
"""

import math

import numpy as np
from _common import arguments, stopwatch, write_results

import barenet
from barenet.datasets import load_tinyshakespeare, random_windows, split_text
from barenet.losses import CrossEntropy
from barenet.optim import Adam


def validation_scores(model, batches) -> tuple[float, float]:
    """Mean cross-entropy (nats per character) and next-character accuracy over ``batches``."""
    loss = CrossEntropy()
    losses = [model.loss_value(x, y, loss) for x, y in batches]
    hits = [np.mean(model.predict(x) == y) for x, y in batches]
    return float(np.mean(losses)), float(np.mean(hits))


def sample(model, vocabulary, prompt: str, length: int, temperature: float, rng) -> str:
    """Generate ``length`` characters after ``prompt``, one at a time: the LSTM's state after
    each character is the initial state of the next call, so nothing is recomputed."""
    embedding, lstm, dense = model.layers[:3]
    ids, state, generated = vocabulary.encode(prompt)[None], None, []
    for _ in range(length):
        output, cache = lstm.forward_with_cache(embedding.forward(ids), initial_state=state)
        state = lstm.final_state(cache)
        logits = dense.forward(output[:, -1])[0].astype(np.float64) / temperature
        probabilities = np.exp(logits - logits.max())
        next_id = rng.choice(vocabulary.size, p=probabilities / probabilities.sum())
        ids = np.array([[next_id]])
        generated.append(int(next_id))
    return prompt + vocabulary.decode(np.array(generated))


def main():
    args = arguments(__doc__.splitlines()[0], epochs=1000, epochs_name="steps", seed=0, hidden=256,
                     embedding=128, context=64, batch_size=32, lr=3e-3, eval_batches=50, sample_length=500)
    text = load_tinyshakespeare(args.data_dir)
    train, validation = split_text(text.ids)
    train = train[: args.train_limit]  # --train-limit N: the first N characters only, for quick runs
    rng = np.random.default_rng(args.seed)
    model = barenet.char_rnn(text.vocabulary.size, args.hidden, embedding_dim=args.embedding,
                             context=args.context, rng=args.seed)
    model.metadata["vocabulary"] = text.vocabulary.to_dict()
    print(model.summary())
    fixed = np.random.default_rng(1234)  # the same validation windows at every evaluation
    held_out = [random_windows(validation, args.context, args.batch_size, fixed)
                for _ in range(args.eval_batches)]
    optimizer = Adam(model.parameters(), lr=args.lr, max_grad_norm=1.0)
    loss, curve = CrossEntropy(), []
    with stopwatch() as clock:
        for step in range(1, args.epochs + 1):
            optimizer.lr = args.lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / args.epochs))  # cosine to 0
            x, y = random_windows(train, args.context, args.batch_size, rng)
            result = model.compute_gradients(x, y, loss)
            optimizer.step()
            if step % 250 == 0 or step == args.epochs:
                scores = validation_scores(model, held_out)
                curve.append({"step": step, "train_loss": result.loss, "validation_loss": scores[0],
                              "validation_accuracy": scores[1]})
                if args.verbose:
                    print(curve[-1])
    final, accuracy = curve[-1]["validation_loss"], curve[-1]["validation_accuracy"]
    text_sample = sample(model, text.vocabulary, "ROMEO:", args.sample_length, 0.8, np.random.default_rng(0))
    print(text_sample)
    print(f"RESULT exp9: validation loss {final:.4f} nats/character, next-character accuracy {accuracy:.2%}, "
          f"after {args.epochs} steps in {clock['seconds']:.0f} s")
    model.save(args.out / "09_char_lstm.npz")
    write_results(args.out, "09_char_lstm", {
        "steps": args.epochs, "batch_size": args.batch_size, "context": args.context, "hidden": args.hidden,
        "embedding": args.embedding, "lr": args.lr, "seed": args.seed, "parameters": model.flat.values.size,
        "validation_loss": final, "validation_accuracy": accuracy, "train_seconds": clock["seconds"],
        "curve": curve, "sample": text_sample,
    })


if __name__ == "__main__":
    main()
