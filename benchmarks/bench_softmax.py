"""softmax_ce on 1,000,000 x 100 float64 logits (NPY) against PyTorch on the CPU, loading
included: value <= 1.0x torch's cross_entropy; value + --save-grad (streamed to disk, .npz and
.npy) <= 0.6x torch forward + backward's wall and <= 0.2x its peak RSS (issue 14).

--save-grad writes 800 MB and flushes it to disk before renaming it over the target. Over a
previous gradient (the rows "over g.npy"), the rename also frees the old file's 800 MB, which the
file system does inside the rename (1.0-1.2 s on this machine's disk, `strace -T`), as any tool
that overwrites the file pays; the "new file" row writes a file that did not exist (each run its
own, removed between runs), and "torch ... + np.save" is torch's gradient written the plain way.

    pip install torch==2.13.0 && python benchmarks/bench_softmax.py
"""

import itertools

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
TORCH_SAVE = TORCH_BW + f"np.save('{grad}-torch.npy', g)\n"


class NewFile(list):
    """A command whose last argument is a new file each run (the previous run's removed first, by
    the time the next command's turn comes: outside any timing)."""

    def __init__(self, cmd, stem):
        self.stem, self.count, self.last = stem, itertools.count(), None
        super().__init__(cmd)

    def __iter__(self):
        if self.last is not None:
            self.last.unlink(missing_ok=True)
        self.last = self.stem.with_name(f"{self.stem.name}-new-{next(self.count)}.npy")
        return iter([*super().__iter__(), str(self.last)])


compile_package()
LOSSCLI = [PY, "-m", "losscli", "compute", "softmax_ce", str(z), str(y), "--format", "value"]
new_file = NewFile(LOSSCLI + ["--save-grad"], grad)
rows = compare({"torch cross_entropy": [PY, "-c", TORCH],
                "losscli compute softmax_ce": LOSSCLI,
                "torch forward + backward": [PY, "-c", TORCH_BW],
                "losscli softmax_ce --save-grad g.npz": LOSSCLI + ["--save-grad", f"{grad}.npz"],
                "losscli softmax_ce --save-grad over g.npy": LOSSCLI + ["--save-grad", f"{grad}.npy"],
                "losscli softmax_ce --save-grad new file": new_file,
                "torch forward + backward + np.save over g.npy": [PY, "-c", TORCH_SAVE]}, repeat=5)
print("softmax_ce, 1,000,000 x 100 float64 logits (NPY), median of 5 interleaved runs")
table(rows[:2], "torch cross_entropy")
print()
table(rows[2:], "torch forward + backward")
if new_file.last is not None:
    new_file.last.unlink(missing_ok=True)
