"""softmax_ce on 1,000,000 x 100 float64 logits (NPY) against PyTorch on the CPU, loading
included: value <= 1.0x torch's cross_entropy; value + --save-grad (streamed to disk, .npz and
.npy) <= 0.6x torch forward + backward's wall and <= 0.2x its peak RSS (issue 14).

    pip install torch==2.13.0 && python benchmarks/bench_softmax.py
"""

from common import CACHE, PY, cached_npy, compare, compile_package, table

z = cached_npy("logits", (1_000_000, 100), 3)
y = cached_npy("classes", (1_000_000, 100), 4, kind="int")
TORCH = f"""
import numpy as np, torch
z = torch.from_numpy(np.load('{z}')); y = torch.from_numpy(np.load('{y}'))
print(float(torch.nn.functional.cross_entropy(z, y)))
"""
TORCH_BW = f"""
import numpy as np, torch
z = torch.from_numpy(np.load('{z}')).requires_grad_(); y = torch.from_numpy(np.load('{y}'))
loss = torch.nn.functional.cross_entropy(z, y); loss.backward(); g = z.grad.numpy()
print(float(loss))
"""
grad = CACHE / "softmax_grad"
compile_package()
LOSSCLI = [PY, "-m", "losscli", "compute", "softmax_ce", str(z), str(y), "--format", "value"]
rows = compare({"torch cross_entropy": [PY, "-c", TORCH],
                "losscli compute softmax_ce": LOSSCLI,
                "torch forward + backward": [PY, "-c", TORCH_BW],
                "losscli softmax_ce --save-grad g.npz": LOSSCLI + ["--save-grad", f"{grad}.npz"],
                "losscli softmax_ce --save-grad g.npy": LOSSCLI + ["--save-grad", f"{grad}.npy"]}, repeat=5)
print("softmax_ce, 1,000,000 x 100 float64 logits (NPY), median of 5 interleaved runs")
table(rows[:2], "torch cross_entropy")
print()
table(rows[2:], "torch forward + backward")
