"""The sequence layers equal PyTorch's in float64: outputs and every gradient within 1e-10
(relative to the largest entry), with PyTorch's weights copied across through the mapping each
layer's docstring states."""

from __future__ import annotations

import numpy as np
import pytest

from barenet import Sequential
from barenet.layers import (
    GELU,
    GRU,
    LSTM,
    RNN,
    Dense,
    Embedding,
    LayerNorm,
    MultiHeadAttention,
    Residual,
)

torch = pytest.importorskip("torch")
F64 = np.float64
TOLERANCE = 1e-10


def close(ours: np.ndarray, theirs, what: str) -> None:
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs {theirs.shape}"
    scale = max(float(np.abs(theirs).max()), 1e-300)
    error = float(np.abs(ours - theirs).max()) / scale
    assert error <= TOLERANCE, f"{what}: relative error {error:.2e}"


def tensor(array: np.ndarray, grad: bool = True):
    return torch.tensor(array, dtype=torch.float64, requires_grad=grad)


def run_torch(module, x: np.ndarray, upstream: np.ndarray, **call):
    """Torch's output, dX and {name: grad} for loss = Σ output ⊙ upstream."""
    x_t = tensor(x)
    output = module(x_t, **call)
    output = output[0] if isinstance(output, tuple) else output
    (output * torch.tensor(upstream)).sum().backward()
    return output, x_t.grad, {name: p.grad for name, p in module.named_parameters()}


@pytest.mark.parametrize("kind, gates", [("RNN-tanh", 1), ("RNN-relu", 1), ("LSTM", 4), ("GRU", 3)])
@pytest.mark.parametrize("n, t", [(1, 1), (3, 5)])
def test_recurrent_layers_equal_pytorch_given_its_weights(kind, gates, n, t):
    rng = np.random.default_rng(n * 10 + t)
    f, h = 4, 6
    if kind.startswith("RNN"):
        nonlinearity = kind.split("-")[1]
        theirs = torch.nn.RNN(f, h, nonlinearity=nonlinearity, batch_first=True, dtype=torch.float64)
        ours = RNN(f, h, nonlinearity=nonlinearity, dtype=F64, rng=0)
    else:
        theirs = getattr(torch.nn, kind)(f, h, batch_first=True, dtype=torch.float64)
        ours = {"LSTM": LSTM, "GRU": GRU}[kind](f, h, dtype=F64, rng=0)
    for parameter in ours.parameters():  # the documented mapping: same names, same shapes
        assert parameter.shape == tuple(getattr(theirs, parameter.name).shape)
        parameter.value = getattr(theirs, parameter.name).detach().numpy().copy()
    x = rng.standard_normal((n, t, f))
    upstream = rng.standard_normal((n, t, h))
    output, cache = ours.forward_with_cache(x)
    grad_x = ours.backward(upstream, cache)
    their_output, their_grad_x, their_grads = run_torch(theirs, x, upstream)
    close(output, their_output, "output")
    close(grad_x, their_grad_x, "dX")
    for parameter in ours.parameters():
        close(parameter.grad, their_grads[parameter.name], parameter.name)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_given_initial_state_and_its_gradient_equal_pytorchs(kind):
    rng = np.random.default_rng(4)
    n, t, f, h = 2, 3, 3, 5
    theirs = getattr(torch.nn, kind)(f, h, batch_first=True, dtype=torch.float64)
    ours = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[kind](f, h, dtype=F64)
    for parameter in ours.parameters():
        parameter.value = getattr(theirs, parameter.name).detach().numpy().copy()
    x, upstream = rng.standard_normal((n, t, f)), rng.standard_normal((n, t, h))
    states = [rng.standard_normal((n, h)) for _ in range(2 if kind == "LSTM" else 1)]
    given = tuple(states) if kind == "LSTM" else states[0]
    output, cache = ours.forward_with_cache(x, initial_state=given)
    _, grad_state = ours.backward_with_state(upstream, cache)
    their_states = [tensor(state[None]) for state in states]
    their_output, _ = theirs(tensor(x), tuple(their_states) if kind == "LSTM" else their_states[0])
    (their_output * torch.tensor(upstream)).sum().backward()
    close(output, their_output, "output")
    ours_grads = grad_state if kind == "LSTM" else (grad_state,)
    for mine, their_state in zip(ours_grads, their_states):
        close(mine, their_state.grad[0], "d(initial state)")


@pytest.mark.parametrize("return_sequences", [False])
def test_the_last_state_alone_is_pytorchs_h_n(return_sequences):
    rng = np.random.default_rng(2)
    theirs = torch.nn.LSTM(3, 4, batch_first=True, dtype=torch.float64)
    ours = LSTM(3, 4, return_sequences=return_sequences, dtype=F64)
    for parameter in ours.parameters():
        parameter.value = getattr(theirs, parameter.name).detach().numpy().copy()
    x, upstream = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4))
    output, cache = ours.forward_with_cache(x)
    grad_x = ours.backward(upstream, cache)
    x_t = tensor(x)
    _, (h_n, _) = theirs(x_t)
    (h_n[0] * torch.tensor(upstream)).sum().backward()
    close(output, h_n[0], "h_n")
    close(grad_x, x_t.grad, "dX")


def test_embedding_equals_pytorch_with_repeated_ids():
    rng = np.random.default_rng(0)
    theirs = torch.nn.Embedding(7, 5, dtype=torch.float64)
    ours = Embedding(7, 5, dtype=F64)
    ours.weight.value = theirs.weight.detach().numpy().copy()
    ids = np.array([[1, 1, 3, 6], [6, 0, 1, 1]])
    upstream = rng.standard_normal((2, 4, 5))
    output, cache = ours.forward_with_cache(ids)
    ours.backward_parameters(upstream, cache)
    their_output = theirs(torch.tensor(ids))
    (their_output * torch.tensor(upstream)).sum().backward()
    close(output, their_output, "output")
    close(ours.weight.grad, theirs.weight.grad, "weight")


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n, t", [(1, 1), (2, 6)])
def test_multi_head_attention_equals_pytorch(causal, n, t):
    rng = np.random.default_rng(t)
    d, heads = 8, 2
    theirs = torch.nn.MultiheadAttention(d, heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # PyTorch starts its biases at zero; random ones test them too
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    ours = MultiHeadAttention(d, heads, causal=causal, dtype=F64)
    copy_attention(theirs, ours)
    x, upstream = rng.standard_normal((n, t, d)), rng.standard_normal((n, t, d))
    output, cache = ours.forward_with_cache(x)
    grad_x = ours.backward(upstream, cache)
    x_t = tensor(x)
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if causal else None
    their_output, their_weights = theirs(x_t, x_t, x_t, attn_mask=mask, need_weights=True,
                                         average_attn_weights=False)
    (their_output * torch.tensor(upstream)).sum().backward()
    close(output, their_output, "output")
    close(cache.weights, their_weights, "attention weights")
    close(ours.attention_weights(x), their_weights, "attention_weights(x)")
    close(grad_x, x_t.grad, "dX")
    close(ours.in_proj_weight.grad, theirs.in_proj_weight.grad, "in_proj_weight")
    close(ours.in_proj_bias.grad, theirs.in_proj_bias.grad, "in_proj_bias")
    close(ours.out_proj_weight.grad, theirs.out_proj.weight.grad, "out_proj.weight")
    close(ours.out_proj_bias.grad, theirs.out_proj.bias.grad, "out_proj.bias")


def copy_attention(theirs, ours: MultiHeadAttention) -> None:
    """The mapping MultiHeadAttention's docstring states."""
    ours.in_proj_weight.value = theirs.in_proj_weight.detach().numpy().copy()
    ours.in_proj_bias.value = theirs.in_proj_bias.detach().numpy().copy()
    ours.out_proj_weight.value = theirs.out_proj.weight.detach().numpy().copy()
    ours.out_proj_bias.value = theirs.out_proj.bias.detach().numpy().copy()


def copy_linear(theirs, ours: Dense) -> None:
    ours.weight.value = theirs.weight.detach().numpy().T.copy()
    ours.bias.value = theirs.bias.detach().numpy().copy()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_equals_pytorch(approximate):
    x = np.random.default_rng(1).standard_normal((3, 4, 5)) * 3
    upstream = np.random.default_rng(2).standard_normal(x.shape)
    layer = GELU(approximate)
    output, cache = layer.forward_with_cache(x)
    their_output, their_grad, _ = run_torch(torch.nn.GELU(approximate=approximate), x, upstream)
    close(output, their_output, "output")
    close(layer.backward(upstream, cache), their_grad, "dX")


def test_gelu_in_float32_is_as_close_to_pytorch_as_float32_allows():
    x = np.linspace(-8, 8, 10_001, dtype=np.float32)
    ours = GELU().forward(x)
    theirs = torch.nn.GELU()(torch.tensor(x)).numpy()
    assert ours.dtype == np.float32
    # both compute 1 + erf(x/√2), which near x = −3.5 cancels to a few units of float32's 1.2e-7
    np.testing.assert_allclose(ours, theirs, atol=2e-6, rtol=1e-5)


class TorchBlock(torch.nn.Module):
    """A pre-LayerNorm transformer block as nanoGPT writes it."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.attn = torch.nn.MultiheadAttention(d, heads, batch_first=True)
        self.fc, self.proj = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)

    def forward(self, x):
        t = x.shape[1]
        y = self.ln_1(x)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
        x = x + self.attn(y, y, y, attn_mask=mask, need_weights=False)[0]
        return x + self.proj(torch.nn.functional.gelu(self.fc(self.ln_2(x))))


def test_a_transformer_block_built_from_parts_equals_pytorch():
    d, heads, n, t = 8, 2, 2, 5
    torch.manual_seed(0)
    theirs = TorchBlock(d, heads).double()
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))  # no unit γ, no zero bias
    attention = MultiHeadAttention(d, heads, causal=True, dtype=F64)
    first, second = LayerNorm(d, dtype=F64), LayerNorm(d, dtype=F64)
    fc, proj = Dense(d, 4 * d, dtype=F64), Dense(4 * d, d, dtype=F64)
    model = Sequential(Residual(first, attention), Residual(second, fc, GELU(), proj), input_shape=(t, d))
    for norm, their_norm in ((first, theirs.ln_1), (second, theirs.ln_2)):
        norm.weight.value = their_norm.weight.detach().numpy().copy()
        norm.bias.value = their_norm.bias.detach().numpy().copy()
    copy_attention(theirs.attn, attention)
    copy_linear(theirs.fc, fc)
    copy_linear(theirs.proj, proj)
    rng = np.random.default_rng(3)
    x, upstream = rng.standard_normal((n, t, d)), rng.standard_normal((n, t, d))
    output, tape = model.forward_with_cache(x)
    grad_x = model.backward(upstream, tape, input_grad=True)
    their_output, their_grad_x, their_grads = run_torch(theirs, x, upstream)
    close(output, their_output, "output")
    close(grad_x, their_grad_x, "dX")
    pairs = {"ln_1.weight": first.weight, "ln_1.bias": first.bias, "ln_2.weight": second.weight,
             "ln_2.bias": second.bias, "attn.in_proj_weight": attention.in_proj_weight,
             "attn.in_proj_bias": attention.in_proj_bias, "attn.out_proj.weight": attention.out_proj_weight,
             "attn.out_proj.bias": attention.out_proj_bias, "fc.bias": fc.bias, "proj.bias": proj.bias}
    for name, parameter in pairs.items():
        close(parameter.grad, their_grads[name], name)
    close(fc.weight.grad, their_grads["fc.weight"].T, "fc.weight")
    close(proj.weight.grad, their_grads["proj.weight"].T, "proj.weight")
