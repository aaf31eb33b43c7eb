"""Target 4: softmax_ce on 1,000,000 x 100 float64 logits (NPY) against PyTorch on the CPU,
loading included: value <= 1.0x torch's cross_entropy; value + --save-grad <= 0.6x torch
forward + backward.

    pip install torch==2.13.0 && python benchmarks/bench_softmax.py
"""

from common import CACHE, PY, cached_npy, run, table

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
grad = CACHE / "softmax_grad.npz"
rows = [("torch cross_entropy", *run([PY, "-c", TORCH])),
        ("losscli compute softmax_ce", *run([PY, "-m", "losscli", "compute", "softmax_ce", str(z), str(y),
                                             "--format", "value"]))]
table(rows, "torch cross_entropy")
rows = [("torch forward + backward", *run([PY, "-c", TORCH_BW])),
        ("losscli softmax_ce --save-grad", *run([PY, "-m", "losscli", "compute", "softmax_ce", str(z), str(y),
                                                 "--format", "value", "--save-grad", str(grad)]))]
print()
table(rows, "torch forward + backward")
