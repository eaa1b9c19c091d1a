"""The baby GPT in PyTorch, for the benchmark and the comparison runs: nanoGPT's ``model.py``
cut to what barenet's :func:`barenet.gpt` builds (pre-LayerNorm blocks, causal self-attention
through PyTorch's fused ``scaled_dot_product_attention``, a 4×-wide GELU MLP, learned token
and position embeddings, an untied output layer), and the copy of barenet's weights into it.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj = nn.Linear(width, 3 * width)  # q, k, v stacked, as nn.MultiheadAttention
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = self.in_proj(x).split(c, dim=2)
        q, k, v = (z.view(n, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out_proj(y.transpose(1, 2).reshape(n, t, c))


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.proj = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))  # GPT-2's GELU


class TorchGPT(nn.Module):
    def __init__(self, vocab_size: int, context: int, layers: int, heads: int, width: int) -> None:
        super().__init__()
        self.token = nn.Embedding(vocab_size, width)
        self.position = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size)
        for name, parameter in self.named_parameters():  # GPT-2's initialisation
            if parameter.dim() == 2:
                ends_branch = name.endswith(("out_proj.weight", "proj.weight"))
                std = 0.02 / math.sqrt(2 * layers) if ends_branch else 0.02
                nn.init.normal_(parameter, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(parameter)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.token(ids) + self.position(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def optimizer(self, lr: float, weight_decay: float, betas: tuple[float, float]) -> torch.optim.AdamW:
        """AdamW with decay on matrices (weights and embeddings) only, as nanoGPT groups them."""
        decayed = [p for p in self.parameters() if p.dim() >= 2]
        plain = [p for p in self.parameters() if p.dim() < 2]
        groups = [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=lr, betas=betas)


def copy_from_barenet(model, torch_model: TorchGPT) -> None:
    """Copy the weights of a :func:`barenet.gpt` model into ``torch_model`` (same sizes).

    barenet's Dense keeps W as ``(in, out)`` (``Z = X·W + b``), PyTorch's Linear as
    ``(out, in)``: those are transposed. Attention, LayerNorm and the embeddings keep
    PyTorch's layouts and copy as they are.
    """
    layers = model.layers
    blocks = [layer for layer in layers if type(layer).__name__ == "Residual"]
    pairs = [(torch_model.token.weight, layers[0].weight.value),
             (torch_model.position.weight, layers[1].weight.value)]
    for block, (attention_branch, mlp_branch) in zip(torch_model.blocks, zip(blocks[::2], blocks[1::2])):
        norm_1, attention = attention_branch.layers[:2]
        norm_2, fc, _, proj = mlp_branch.layers[:4]
        pairs += [
            (block.ln_1.weight, norm_1.weight.value), (block.ln_1.bias, norm_1.bias.value),
            (block.attn.in_proj.weight, attention.in_proj_weight.value),
            (block.attn.in_proj.bias, attention.in_proj_bias.value),
            (block.attn.out_proj.weight, attention.out_proj_weight.value),
            (block.attn.out_proj.bias, attention.out_proj_bias.value),
            (block.ln_2.weight, norm_2.weight.value), (block.ln_2.bias, norm_2.bias.value),
            (block.fc.weight, fc.weight.value.T), (block.fc.bias, fc.bias.value),
            (block.proj.weight, proj.weight.value.T), (block.proj.bias, proj.bias.value),
        ]
    final_norm, head = layers[-3], layers[-2]
    pairs += [(torch_model.ln_f.weight, final_norm.weight.value),
              (torch_model.ln_f.bias, final_norm.bias.value),
              (torch_model.head.weight, head.weight.value.T), (torch_model.head.bias, head.bias.value)]
    with torch.no_grad():
        for target, source in pairs:
            target.copy_(torch.from_numpy(source.copy()).to(target.dtype))
